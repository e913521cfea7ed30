// SPDX-License-Identifier: MIT
#pragma once

#include <QWidget>

#include <string>
#include <vector>

class QCheckBox;
class QGridLayout;
class QLabel;

namespace ftw::ui {

/// The adapter's target modules as a checklist: one box per projection kind of the model
/// (ModelSummary::adapterTargets, e.g. "self_attn.q_proj") plus lm_head. Every kind checked and
/// lm_head not is the default, written as an empty list ("all-linear"); otherwise the checked
/// names, short ("q_proj") where that names one kind only. A list that the boxes cannot show
/// (set before a model is chosen, or naming something else) is kept as it is until a box is
/// clicked. At least one box stays checked. Lives on the GUI thread.
class TargetChecklist : public QWidget {
    Q_OBJECT

public:
    explicit TargetChecklist(QWidget* parent = nullptr);

    /// The model's projection kinds; an empty list (no model) leaves only the summary.
    /// Keeps targets() as it is.
    void setModuleKinds(const std::vector<std::string>& kinds);
    /// The target_modules of a run config; checks the boxes it names. Does not emit.
    void setTargets(const std::vector<std::string>& targets);
    /// AdapterConfig::targetModules as the boxes (or the last setTargets()) say.
    [[nodiscard]] const std::vector<std::string>& targets() const { return m_targets; }
    /// The box of a kind ("self_attn.q_proj" or "lm_head"); nullptr when there is none.
    [[nodiscard]] QCheckBox* box(const QString& kind) const;
    /// What targets() means, in words (shown under the boxes).
    [[nodiscard]] QString summary() const;

Q_SIGNALS:
    /// The user checked or unchecked a box (targets() changed).
    void targetsChanged();

private:
    struct Item {
        std::string kind; ///< e.g. "self_attn.q_proj"
        std::string name; ///< what target_modules holds for it, e.g. "q_proj"
        QCheckBox* box = nullptr;
    };

    void showTargets();
    void onToggled(QCheckBox* box);
    [[nodiscard]] bool matches(const Item& item, const std::string& target) const;

    QGridLayout* m_grid = nullptr;
    QLabel* m_summary = nullptr;
    std::vector<Item> m_items;
    std::vector<std::string> m_targets;
    bool m_isUpdating = false;
};

} // namespace ftw::ui
