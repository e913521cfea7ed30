// SPDX-License-Identifier: MIT
#pragma once

#include "train_command_line.h"

#include <ftw/models.h>
#include <ftw/run_config.h>

#include <QWidget>

#include <filesystem>
#include <map>
#include <optional>
#include <string>

class QCheckBox;
class QComboBox;
class QDoubleSpinBox;
class QLabel;
class QLineEdit;
class QPushButton;
class QSpinBox;

namespace ftw::ui {

class MethodOptions;
class TargetChecklist;

/// The fine-tuning form of the New-run page: run name, base model (inspected as you choose it),
/// dataset, adapter method with the fields of that method, target modules, and the training
/// settings, in groups inside a scroll area; under them, the validation message (the engine's
/// validateTrainSpec, as you type), the equivalent `ftw train` command line, config import and
/// export, and Start (enabled only for a valid config). trainSpec() is what `ftw train` builds
/// from the same choices; run-config keys the form has no field for keep the values of the last
/// setTrainSpec() or importConfig(). Lives on the GUI thread.
class TrainForm : public QWidget {
    Q_OBJECT

public:
    explicit TrainForm(QWidget* parent = nullptr);

    /// The run config the fields describe.
    [[nodiscard]] TrainSpec trainSpec() const;
    /// Fills the fields from `spec` (e.g. an imported run config); emits specChanged() once.
    void setTrainSpec(const TrainSpec& spec);
    /// Reads a run config file (parseRunConfig; relative paths from the file's folder) into the
    /// form. Returns: NotFound when the file cannot be read, InvalidConfig naming the file and the
    /// key otherwise; the form is left unchanged on error.
    [[nodiscard]] Status importConfig(const std::filesystem::path& file);
    /// Writes trainSpec() as a run config file (runConfigJson), through a temporary file that is
    /// renamed when complete. Returns: Io naming the file when writing fails.
    [[nodiscard]] Status exportConfig(const std::filesystem::path& file) const;
    /// The validation message shown under the form, empty when the config is valid.
    [[nodiscard]] QString validationMessage() const;
    [[nodiscard]] QPushButton* startButton() const { return m_start; }
    /// The equivalent command line shown under the form.
    [[nodiscard]] QString commandLine() const;
    void setJobRunning(bool isRunning);

    /// The base model as inspected when its folder was last set; std::nullopt without one.
    [[nodiscard]] const std::optional<ModelSummary>& modelSummary() const { return m_summary; }
    /// Why the model folder could not be read (empty when it could, or when none is set).
    [[nodiscard]] QString modelError() const { return m_modelError; }
    [[nodiscard]] MethodOptions* methodOptions() const { return m_methodOptions; }
    [[nodiscard]] TargetChecklist* targetChecklist() const { return m_targets; }

Q_SIGNALS:
    /// Start was clicked with a valid config; read trainSpec().
    void startRequested();
    /// The run config that the fields describe changed (any field, an import, a new model).
    void specChanged();
    /// The model folder changed and was inspected: read modelSummary() and modelError().
    void modelChanged();

private:
    QWidget* buildRunAndModelGroups();
    QWidget* buildDataGroup();
    QWidget* buildAdapterGroup();
    QWidget* buildTrainingGroup();
    QWidget* buildFooter();
    void connectFields();
    void inspectModelFolder();
    void importFromDialog();
    void exportFromDialog();
    void revalidate();
    void markInvalidField(const QString& message);

    TrainSpec m_base; ///< the last spec set: keys the form has no field for keep these values
    std::optional<ModelSummary> m_summary;
    QString m_modelError;
    QString m_inspectedFolder;
    std::string m_lastSpecJson;
    bool m_isUpdating = false;
    bool m_isJobRunning = false;

    QLineEdit* m_name = nullptr;
    QLineEdit* m_model = nullptr;
    QLabel* m_modelInfo = nullptr;
    QLineEdit* m_data = nullptr;
    QComboBox* m_format = nullptr;
    QSpinBox* m_maxLength = nullptr;
    QDoubleSpinBox* m_validationRatio = nullptr;
    MethodOptions* m_methodOptions = nullptr;
    TargetChecklist* m_targets = nullptr;
    QSpinBox* m_steps = nullptr;
    QDoubleSpinBox* m_epochs = nullptr;
    QSpinBox* m_batchSize = nullptr;
    QSpinBox* m_gradAccumulation = nullptr;
    QDoubleSpinBox* m_learningRate = nullptr;
    QComboBox* m_scheduler = nullptr;
    QSpinBox* m_warmupSteps = nullptr;
    QDoubleSpinBox* m_weightDecay = nullptr;
    QDoubleSpinBox* m_maxGradNorm = nullptr;
    QSpinBox* m_seed = nullptr;
    QSpinBox* m_evalEvery = nullptr;
    QSpinBox* m_saveEvery = nullptr;
    QCheckBox* m_gradientCheckpointing = nullptr;
    QComboBox* m_device = nullptr;
    QComboBox* m_precision = nullptr;
    QLabel* m_validation = nullptr;
    QLineEdit* m_command = nullptr;
    QLabel* m_commandNote = nullptr;
    QPushButton* m_start = nullptr;
    std::map<QString, QWidget*> m_fieldWidgets; ///< run-config key -> editor, for errors
    QWidget* m_invalidField = nullptr;
};

} // namespace ftw::ui
