// SPDX-License-Identifier: MIT
#include "target_checklist.h"

#include "bridge/qt_convert.h"

#include <QCheckBox>
#include <QGridLayout>
#include <QLabel>
#include <QVBoxLayout>

#include <algorithm>

namespace ftw::ui {
namespace {

constexpr int kColumns = 2;
const std::string kLmHead = "lm_head";

std::string lastComponent(const std::string& kind)
{
    const auto dot = kind.rfind('.');
    return dot == std::string::npos ? kind : kind.substr(dot + 1);
}

bool isAllLinear(const std::vector<std::string>& targets)
{
    return targets.empty() || (targets.size() == 1 && targets.front() == "all-linear");
}

} // namespace

TargetChecklist::TargetChecklist(QWidget* parent) : QWidget(parent)
{
    m_grid = new QGridLayout;
    m_grid->setContentsMargins(0, 0, 0, 0);
    m_grid->setHorizontalSpacing(16);
    m_summary = new QLabel(this);
    m_summary->setObjectName(QStringLiteral("targetSummary"));
    m_summary->setWordWrap(true);
    auto* layout = new QVBoxLayout(this);
    layout->setContentsMargins(0, 0, 0, 0);
    layout->addLayout(m_grid);
    layout->addWidget(m_summary);
    showTargets();
}

void TargetChecklist::setModuleKinds(const std::vector<std::string>& kinds)
{
    for (Item& item : m_items) {
        delete item.box;
    }
    m_items.clear();
    std::vector<std::string> all = kinds;
    if (!kinds.empty()) {
        all.push_back(kLmHead);
    }
    for (const std::string& kind : all) {
        const std::string shortName = lastComponent(kind);
        const bool isUnique =
            std::count_if(kinds.begin(), kinds.end(), [&](const std::string& other) {
                return lastComponent(other) == shortName;
            }) <= 1;
        Item item{kind, isUnique ? shortName : kind, new QCheckBox(toQString(kind), this)};
        item.box->setObjectName(QStringLiteral("target:") + toQString(kind));
        item.box->setToolTip(
            kind == kLmHead
                ? tr("The output projection to the vocabulary: large, and not adapted by default.")
                : tr("Adapt every layer's %1 (written as '%2' in target_modules).")
                      .arg(toQString(kind), toQString(item.name)));
        QCheckBox* box = item.box;
        connect(box, &QCheckBox::toggled, this, [this, box] { onToggled(box); });
        const int index = static_cast<int>(m_items.size());
        m_grid->addWidget(box, index / kColumns, index % kColumns);
        m_items.push_back(std::move(item));
    }
    showTargets();
}

void TargetChecklist::setTargets(const std::vector<std::string>& targets)
{
    m_targets = targets;
    showTargets();
}

QCheckBox* TargetChecklist::box(const QString& kind) const
{
    const auto it = std::find_if(m_items.begin(), m_items.end(),
                                 [&](const Item& item) { return toQString(item.kind) == kind; });
    return it == m_items.end() ? nullptr : it->box;
}

bool TargetChecklist::matches(const Item& item, const std::string& target) const
{
    return target == item.kind || target == item.name ||
           (item.kind.size() > target.size() && item.kind.ends_with("." + target));
}

QString TargetChecklist::summary() const
{
    if (isAllLinear(m_targets)) {
        return tr("Every projection of the blocks (all-linear, the default).");
    }
    QStringList names;
    QStringList unknown;
    for (const std::string& target : m_targets) {
        names << toQString(target);
        const bool isShown = std::any_of(m_items.begin(), m_items.end(),
                                         [&](const Item& item) { return matches(item, target); });
        if (!isShown) {
            unknown << toQString(target);
        }
    }
    if (m_items.empty()) {
        return tr("From the config: %1.").arg(names.join(QStringLiteral(", ")));
    }
    QString text = tr("target_modules: %1.").arg(names.join(QStringLiteral(", ")));
    if (!unknown.isEmpty()) {
        text += QLatin1Char(' ') + tr("Not a module kind of this model: %1 (kept until you click "
                                      "a box).")
                                       .arg(unknown.join(QStringLiteral(", ")));
    }
    return text;
}

void TargetChecklist::showTargets()
{
    m_isUpdating = true;
    const bool isAll = isAllLinear(m_targets);
    for (const Item& item : m_items) {
        const bool isChecked =
            isAll ? item.kind != kLmHead
                  : std::any_of(m_targets.begin(), m_targets.end(),
                                [&](const std::string& target) { return matches(item, target); });
        item.box->setChecked(isChecked);
    }
    m_isUpdating = false;
    m_summary->setText(m_items.empty() && isAll
                           ? tr("Choose a model to list its modules. Default: every projection "
                                "of the blocks (all-linear).")
                           : summary());
}

void TargetChecklist::onToggled(QCheckBox* box)
{
    if (m_isUpdating) {
        return;
    }
    const bool isAnyChecked = std::any_of(m_items.begin(), m_items.end(),
                                          [](const Item& item) { return item.box->isChecked(); });
    if (!isAnyChecked) {
        // An empty list would mean "every projection": keep at least one box.
        m_isUpdating = true;
        box->setChecked(true);
        m_isUpdating = false;
        return;
    }
    bool areAllBlockKindsChecked = true;
    bool isLmHeadChecked = false;
    std::vector<std::string> checked;
    for (const Item& item : m_items) {
        if (item.kind == kLmHead) {
            isLmHeadChecked = item.box->isChecked();
        } else {
            areAllBlockKindsChecked = areAllBlockKindsChecked && item.box->isChecked();
        }
        if (item.box->isChecked()) {
            checked.push_back(item.name);
        }
    }
    m_targets = areAllBlockKindsChecked && !isLmHeadChecked ? std::vector<std::string>{}
                                                            : std::move(checked);
    showTargets();
    Q_EMIT targetsChanged();
}

} // namespace ftw::ui
