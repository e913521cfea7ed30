// SPDX-License-Identifier: MIT
#pragma once

#include <QWidget>

class QPushButton;
class QSpinBox;

namespace ftw::ui {

/// The New-run page. Model, dataset and method pickers are not built yet; for now it offers the
/// demonstration job, which exercises the whole path (engine thread, store, progress, cancel).
class NewRunPage : public QWidget {
    Q_OBJECT

public:
    explicit NewRunPage(QWidget* parent = nullptr);

    [[nodiscard]] QPushButton* startDemoButton() const { return m_startDemo; }
    [[nodiscard]] int demoSteps() const;
    void setJobRunning(bool isRunning);

Q_SIGNALS:
    void demoRequested(int steps);

private:
    QSpinBox* m_steps = nullptr;
    QPushButton* m_startDemo = nullptr;
};

} // namespace ftw::ui
