// SPDX-License-Identifier: MIT
#pragma once

#include <ftw/models.h>

#include <QWidget>

#include <optional>

class QFormLayout;
class QLabel;
class QTreeWidget;

namespace ftw::ui {

/// One line about a model: "llama, 107.2K parameters, 2 layers, hidden 64, F32".
[[nodiscard]] QString modelOneLiner(const ModelSummary& summary);

/// The Model tab of the New-run page: what a base model folder holds (ModelSummary from
/// inspectModel): architecture, parameter count, layers, sizes, heads, dtype, weights, tokenizer,
/// the projection kinds an adapter can target, and the tensors. Shows a placeholder without a
/// model and the error text for a bad folder. Lives on the GUI thread; does no I/O itself.
class ModelSummaryPanel : public QWidget {
    Q_OBJECT

public:
    explicit ModelSummaryPanel(QWidget* parent = nullptr);

    /// Shows `summary`, or `errorText` when there is none (an empty text: no model chosen).
    void showModel(const std::optional<ModelSummary>& summary, const QString& errorText);
    /// The value shown for a row, by its object name ("modelArchitecture", "modelLayers", ...).
    [[nodiscard]] QString value(const QString& rowName) const;
    /// The placeholder or error text; empty while a model is shown.
    [[nodiscard]] QString statusText() const;

private:
    QLabel* addRow(const QString& label, const char* objectName, const QString& toolTip);

    QLabel* m_status = nullptr;
    QWidget* m_details = nullptr;
    QFormLayout* m_form = nullptr;
    QTreeWidget* m_tensors = nullptr;
};

} // namespace ftw::ui
