// SPDX-License-Identifier: MIT
#include "verification_model.h"

#include <QJsonArray>
#include <QJsonDocument>
#include <QJsonObject>

namespace ftw::ui {
namespace {

std::optional<double> number(const QJsonValue& value)
{
    return value.isDouble() ? std::optional<double>(value.toDouble()) : std::nullopt;
}

} // namespace

VerificationReport parseVerificationReport(const QString& json)
{
    VerificationReport report;
    const QJsonObject object = QJsonDocument::fromJson(json.toUtf8()).object();
    if (!object.contains(QStringLiteral("passed"))) {
        return report;
    }
    report.isPresent = true;
    report.kind = object.value(QStringLiteral("kind")).toString();
    report.dtype = object.value(QStringLiteral("dtype")).toString();
    report.maxAbsDiff = number(object.value(QStringLiteral("max_abs_diff")));
    report.meanAbsDiff = number(object.value(QStringLiteral("mean_abs_diff")));
    report.tolerance = number(object.value(QStringLiteral("tolerance")));
    report.adapterEffect = number(object.value(QStringLiteral("adapter_effect_max_abs")));
    report.isPassed = object.value(QStringLiteral("passed")).toBool();
    const QJsonArray prompts = object.value(QStringLiteral("prompts")).toArray();
    for (const QJsonValue& item : prompts) {
        const QJsonObject prompt = item.toObject();
        report.prompts.push_back(PromptCheck{
            prompt.value(QStringLiteral("text")).toString(),
            prompt.value(QStringLiteral("tokens")).toInt(),
            number(prompt.value(QStringLiteral("max_abs_diff"))),
            number(prompt.value(QStringLiteral("mean_abs_diff"))),
        });
    }
    return report;
}

QString formatDifference(const std::optional<double>& value)
{
    return value ? QString::number(*value, 'g', 3) : QStringLiteral("-");
}

VerificationModel::VerificationModel(QObject* parent) : QAbstractTableModel(parent)
{
}

void VerificationModel::setPrompts(std::vector<PromptCheck> prompts)
{
    beginResetModel();
    m_prompts = std::move(prompts);
    endResetModel();
}

int VerificationModel::rowCount(const QModelIndex& parent) const
{
    return parent.isValid() ? 0 : static_cast<int>(m_prompts.size());
}

int VerificationModel::columnCount(const QModelIndex& parent) const
{
    return parent.isValid() ? 0 : ColumnCount;
}

QVariant VerificationModel::data(const QModelIndex& index, int role) const
{
    if (!index.isValid() || index.row() >= rowCount() || index.column() >= ColumnCount) {
        return {};
    }
    const PromptCheck& prompt = m_prompts[static_cast<std::size_t>(index.row())];
    const auto value = [&]() -> std::optional<double> {
        return index.column() == MaxAbsDiff ? prompt.maxAbsDiff : prompt.meanAbsDiff;
    };
    switch (role) {
    case Qt::DisplayRole:
        switch (index.column()) {
        case Prompt:
            return prompt.text;
        case Tokens:
            return QString::number(prompt.tokens);
        default:
            return formatDifference(value());
        }
    case Qt::ToolTipRole:
        return index.column() == Prompt ? QVariant(prompt.text) : QVariant();
    case Qt::TextAlignmentRole:
        return index.column() == Prompt
                   ? QVariant()
                   : QVariant(int(Qt::AlignRight | Qt::AlignVCenter)); // numbers line up
    case ValueRole:
        if (index.column() == Prompt) {
            return prompt.text;
        }
        if (index.column() == Tokens) {
            return prompt.tokens;
        }
        return value() ? QVariant(*value()) : QVariant();
    default:
        return {};
    }
}

QVariant VerificationModel::headerData(int section, Qt::Orientation orientation, int role) const
{
    if (orientation != Qt::Horizontal || section < 0 || section >= ColumnCount) {
        return {};
    }
    if (role == Qt::ToolTipRole) {
        switch (section) {
        case MaxAbsDiff:
            return tr("The largest |logit difference| between the export and base + adapter over "
                      "every position and vocabulary entry of the prompt");
        case MeanAbsDiff:
            return tr("The mean |logit difference| over the prompt's positions and vocabulary");
        default:
            return {};
        }
    }
    if (role != Qt::DisplayRole) {
        return {};
    }
    switch (section) {
    case Prompt:
        return tr("Prompt");
    case Tokens:
        return tr("Tokens");
    case MaxAbsDiff:
        return tr("Max |Δlogit|");
    default:
        return tr("Mean |Δlogit|");
    }
}

} // namespace ftw::ui
