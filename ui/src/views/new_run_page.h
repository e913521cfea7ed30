// SPDX-License-Identifier: MIT
#pragma once

#include <QWidget>

class QPushButton;
class QSpinBox;

namespace ftw::ui {

class TrainForm;

/// The New-run page: the fine-tuning form, and the demonstration job (which exercises the whole
/// path: engine thread, store, progress, cancel).
class NewRunPage : public QWidget {
    Q_OBJECT

public:
    explicit NewRunPage(QWidget* parent = nullptr);

    [[nodiscard]] QPushButton* startDemoButton() const { return m_startDemo; }
    [[nodiscard]] TrainForm* trainForm() const { return m_trainForm; }
    [[nodiscard]] int demoSteps() const;
    void setJobRunning(bool isRunning);

Q_SIGNALS:
    void demoRequested(int steps);

private:
    TrainForm* m_trainForm = nullptr;
    QSpinBox* m_steps = nullptr;
    QPushButton* m_startDemo = nullptr;
};

} // namespace ftw::ui
