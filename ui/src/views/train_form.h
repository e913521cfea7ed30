// SPDX-License-Identifier: MIT
#pragma once

#include <ftw/run_config.h>

#include <QGroupBox>

class QComboBox;
class QDoubleSpinBox;
class QLabel;
class QLineEdit;
class QPushButton;
class QSpinBox;

namespace ftw::ui {

/// The `ftw train` command line that makes the same run config as `spec` (the form's fields),
/// with arguments that hold spaces or quotes single-quoted for a POSIX shell.
[[nodiscard]] QString trainCommandLine(const TrainSpec& spec);

/// The fine-tuning form of the New-run page: base model, dataset, adapter method and the main
/// training settings. Validates as you type (the engine's validateTrainSpec) and enables Start
/// only for a valid config. trainSpec() is what `ftw train` builds from the same choices.
class TrainForm : public QGroupBox {
    Q_OBJECT

public:
    explicit TrainForm(QWidget* parent = nullptr);

    /// The run config the fields describe.
    [[nodiscard]] TrainSpec trainSpec() const;
    /// Fills the fields from `spec` (e.g. an imported run config).
    void setTrainSpec(const TrainSpec& spec);
    /// The validation message shown under the form, empty when the config is valid.
    [[nodiscard]] QString validationMessage() const;
    [[nodiscard]] QPushButton* startButton() const { return m_start; }
    /// The equivalent command line shown under the form.
    [[nodiscard]] QString commandLine() const;
    void setJobRunning(bool isRunning);

Q_SIGNALS:
    /// Start was clicked with a valid config; read trainSpec().
    void startRequested();

private:
    void revalidate();

    QLineEdit* m_name = nullptr;
    QLineEdit* m_model = nullptr;
    QLineEdit* m_data = nullptr;
    QComboBox* m_method = nullptr;
    QSpinBox* m_rank = nullptr;
    QDoubleSpinBox* m_alpha = nullptr;
    QLineEdit* m_targets = nullptr;
    QSpinBox* m_steps = nullptr;
    QSpinBox* m_batchSize = nullptr;
    QDoubleSpinBox* m_learningRate = nullptr;
    QComboBox* m_scheduler = nullptr;
    QSpinBox* m_seed = nullptr;
    QLabel* m_validation = nullptr;
    QLineEdit* m_command = nullptr;
    QPushButton* m_start = nullptr;
    bool m_isJobRunning = false;
};

} // namespace ftw::ui
