// SPDX-License-Identifier: MIT
#pragma once

#include <ftw/adapter_config.h>

#include <QWidget>

#include <map>
#include <string>
#include <string_view>
#include <vector>

class QCheckBox;
class QComboBox;
class QDoubleSpinBox;
class QFormLayout;
class QLabel;
class QSpinBox;

namespace ftw::ui {

/// The run-config keys of AdapterConfig (adapter.<key>) that `method` uses, in form order:
/// e.g. r, lora_alpha, lora_dropout, use_rslora, loraplus_lr_ratio, init_gaussian for LoRA;
/// none for full fine-tuning.
[[nodiscard]] std::vector<std::string_view> adapterFieldsOf(AdapterMethod method);

/// The method picker and the form of the chosen method: only the fields that method uses, each
/// with AdapterConfig's default, a range and a tooltip that says what it does. Fields of other
/// methods keep their values (an imported config round-trips), they are only hidden. Targets are
/// not part of it (see TargetChecklist). Lives on the GUI thread.
class MethodOptions : public QWidget {
    Q_OBJECT

public:
    explicit MethodOptions(QWidget* parent = nullptr);

    [[nodiscard]] AdapterMethod method() const;
    /// Fills the method and every field from `config` (targets and seed excepted); emits changed()
    /// once.
    void setConfig(const AdapterConfig& config);
    /// Writes the method and every field into `config` (targets and seed are left alone). For
    /// AdaLoRA, whose starting rank is init_r, r is written as 0.
    void applyTo(AdapterConfig& config) const;
    /// The editor of the run-config key `key` ("r", "target_r"); nullptr for another key.
    [[nodiscard]] QWidget* fieldWidget(std::string_view key) const;
    /// Whether the row of `key` is shown for the current method.
    [[nodiscard]] bool isFieldShown(std::string_view key) const;

Q_SIGNALS:
    /// The method or a field changed (by the user or setConfig()).
    void changed();

private:
    void addField(const char* key, const QString& label, QWidget* editor, const QString& toolTip);
    void showFieldsOfMethod();
    void emitChanged();

    QFormLayout* m_form = nullptr;
    QComboBox* m_method = nullptr;
    QLabel* m_description = nullptr;
    QSpinBox* m_rank = nullptr;
    QDoubleSpinBox* m_alpha = nullptr;
    QDoubleSpinBox* m_dropout = nullptr;
    QCheckBox* m_rslora = nullptr;
    QDoubleSpinBox* m_loraPlusRatio = nullptr;
    QCheckBox* m_gaussianInit = nullptr;
    QSpinBox* m_pissaNiter = nullptr;
    QComboBox* m_loraGaDirection = nullptr;
    QComboBox* m_loraGaScale = nullptr;
    QDoubleSpinBox* m_loraGaGamma = nullptr;
    QSpinBox* m_loraGaBatches = nullptr;
    QDoubleSpinBox* m_dInitial = nullptr;
    QSpinBox* m_projectionPrngKey = nullptr;
    QCheckBox* m_saveProjection = nullptr;
    QSpinBox* m_initR = nullptr;
    QSpinBox* m_targetR = nullptr;
    QSpinBox* m_tinit = nullptr;
    QSpinBox* m_tfinal = nullptr;
    QSpinBox* m_deltaT = nullptr;
    QDoubleSpinBox* m_beta1 = nullptr;
    QDoubleSpinBox* m_beta2 = nullptr;
    QDoubleSpinBox* m_orthRegWeight = nullptr;
    std::map<std::string, QWidget*, std::less<>> m_fields; ///< run-config key -> editor
    bool m_isUpdating = false;
};

} // namespace ftw::ui
