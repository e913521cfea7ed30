// SPDX-License-Identifier: MIT
#pragma once

#include <QAbstractTableModel>
#include <QString>

#include <optional>
#include <vector>

namespace ftw::ui {

/// The logit differences measured on one verification prompt.
struct PromptCheck {
    QString text;
    int tokens = 0;
    std::optional<double> maxAbsDiff; ///< empty when not finite (JSON null)
    std::optional<double> meanAbsDiff;
};

/// An export's verification report: the exported model's logits against base + adapter.
struct VerificationReport {
    bool isPresent = false; ///< false when the export failed before verifying
    QString kind;           ///< "merged" or "adapter"
    QString dtype;
    std::vector<PromptCheck> prompts;
    std::optional<double> maxAbsDiff;
    std::optional<double> meanAbsDiff;
    std::optional<double> tolerance;
    std::optional<double> adapterEffect; ///< max |logit change| the adapter makes on the base
    bool isPassed = false;
};

/// Reads the verification JSON an export stores (ExportInfo::verificationJson, or the
/// "verification" object of a merge job's output). Text that is not such an object gives a report
/// with isPresent false.
[[nodiscard]] VerificationReport parseVerificationReport(const QString& json);

/// "1.23e-05": three significant digits, "-" for none.
[[nodiscard]] QString formatDifference(const std::optional<double>& value);

/// One row per verification prompt: the prompt, its tokens and the max and mean |logit
/// difference|. Read-only; ValueRole gives the numbers unformatted.
class VerificationModel : public QAbstractTableModel {
    Q_OBJECT

public:
    enum Column { Prompt, Tokens, MaxAbsDiff, MeanAbsDiff, ColumnCount };
    enum Role {
        ValueRole = Qt::UserRole + 1, ///< double (or int for Tokens); invalid for none
    };

    explicit VerificationModel(QObject* parent = nullptr);

    void setPrompts(std::vector<PromptCheck> prompts);

    [[nodiscard]] int rowCount(const QModelIndex& parent = {}) const override;
    [[nodiscard]] int columnCount(const QModelIndex& parent = {}) const override;
    [[nodiscard]] QVariant data(const QModelIndex& index,
                                int role = Qt::DisplayRole) const override;
    [[nodiscard]] QVariant headerData(int section, Qt::Orientation orientation,
                                      int role = Qt::DisplayRole) const override;

private:
    std::vector<PromptCheck> m_prompts;
};

} // namespace ftw::ui
