// SPDX-License-Identifier: MIT
#include "model_summary_panel.h"

#include "bridge/qt_convert.h"

#include <ftw/format.h>

#include <QFormLayout>
#include <QHeaderView>
#include <QLabel>
#include <QTreeWidget>
#include <QVBoxLayout>

#include <set>

namespace ftw::ui {
namespace {

constexpr int kMaxTensorRows = 5000;

QString joined(const std::vector<std::string>& items, const QString& separator)
{
    QStringList list;
    for (const std::string& item : items) {
        list << toQString(item);
    }
    return list.join(separator);
}

QString shapeText(const std::vector<std::int64_t>& shape)
{
    QStringList dims;
    for (const std::int64_t dim : shape) {
        dims << QString::number(dim);
    }
    return QStringLiteral("[") + dims.join(QStringLiteral(", ")) + QStringLiteral("]");
}

} // namespace

QString modelOneLiner(const ModelSummary& s)
{
    return ModelSummaryPanel::tr("%1, %2 parameters, %3 layers, hidden %4, %5")
        .arg(toQString(s.architecture), toQString(formatCount(s.parameterCount)))
        .arg(s.numLayers)
        .arg(s.hiddenSize)
        .arg(toQString(s.configDtype));
}

ModelSummaryPanel::ModelSummaryPanel(QWidget* parent) : QWidget(parent)
{
    m_status = new QLabel(this);
    m_status->setObjectName(QStringLiteral("modelStatus"));
    m_status->setWordWrap(true);
    m_status->setTextInteractionFlags(Qt::TextSelectableByMouse);

    m_details = new QWidget(this);
    m_form = new QFormLayout(m_details);
    m_form->setContentsMargins(0, 0, 0, 0);
    addRow(tr("Folder:"), "modelFolder", tr("The model folder"));
    addRow(tr("Architecture:"), "modelArchitecture", tr("config.json's model_type"));
    addRow(tr("Parameters:"), "modelParameters", tr("Elements of all stored tensors"));
    addRow(tr("Layers:"), "modelLayers", tr("Decoder blocks (num_hidden_layers)"));
    addRow(tr("Hidden size:"), "modelHidden", tr("hidden_size, and the MLP's intermediate_size"));
    addRow(tr("Attention:"), "modelHeads",
           tr("Query heads, key/value heads (grouped-query attention when fewer) and head size"));
    addRow(tr("Vocabulary:"), "modelVocabulary",
           tr("Tokens of the embedding, and the longest sequence the positions allow"));
    addRow(tr("Embeddings:"), "modelEmbeddings",
           tr("Tied: the output projection shares the input embedding's weight"));
    addRow(tr("Data type:"), "modelDtype",
           tr("config.json's torch_dtype, and the dtypes of the stored tensors"));
    addRow(tr("Weights:"), "modelWeights", tr("Size of the safetensors files"));
    addRow(tr("Tokenizer:"), "modelTokenizer",
           tr("tokenizer.json gives the dataset preview its token counts"));
    addRow(tr("Adapter targets:"), "modelTargets",
           tr("The projection kinds of each block that an adapter can target"));

    m_tensors = new QTreeWidget(m_details);
    m_tensors->setObjectName(QStringLiteral("modelTensors"));
    m_tensors->setHeaderLabels({tr("Tensor"), tr("Type"), tr("Shape")});
    m_tensors->setRootIsDecorated(false);
    m_tensors->setUniformRowHeights(true);
    m_tensors->header()->setSectionResizeMode(0, QHeaderView::Stretch);
    m_tensors->header()->setSectionResizeMode(1, QHeaderView::ResizeToContents);
    m_tensors->header()->setSectionResizeMode(2, QHeaderView::ResizeToContents);
    m_tensors->header()->setStretchLastSection(false);
    m_form->addRow(new QLabel(tr("Tensors:"), m_details));
    m_form->addRow(m_tensors);

    auto* layout = new QVBoxLayout(this);
    layout->addWidget(m_status);
    layout->addWidget(m_details, 1);
    showModel(std::nullopt, QString());
}

QLabel* ModelSummaryPanel::addRow(const QString& label, const char* objectName,
                                  const QString& toolTip)
{
    auto* value = new QLabel(m_details);
    value->setObjectName(QString::fromLatin1(objectName));
    value->setWordWrap(true);
    value->setTextInteractionFlags(Qt::TextSelectableByMouse);
    value->setToolTip(toolTip);
    m_form->addRow(label, value);
    m_form->labelForField(value)->setToolTip(toolTip);
    return value;
}

void ModelSummaryPanel::showModel(const std::optional<ModelSummary>& summary,
                                  const QString& errorText)
{
    m_details->setVisible(summary.has_value());
    if (!summary) {
        m_status->setText(errorText.isEmpty()
                              ? tr("Choose a base model folder (config.json and *.safetensors) "
                                   "to see what it holds.")
                              : errorText);
        m_status->setStyleSheet(errorText.isEmpty() ? QString()
                                                    : QStringLiteral("color: #b00020;"));
        m_status->show();
        m_tensors->clear();
        return;
    }
    m_status->clear();
    m_status->hide();
    const ModelSummary& s = *summary;
    auto set = [this](const char* name, const QString& text) {
        findChild<QLabel*>(QString::fromLatin1(name))->setText(text);
    };
    set("modelFolder", toQString(s.folder));
    set("modelArchitecture", toQString(s.architecture));
    set("modelParameters", tr("%1 (%2)").arg(toQString(formatCount(s.parameterCount)),
                                             toQString(formatGrouped(s.parameterCount))));
    set("modelLayers", QString::number(s.numLayers));
    set("modelHidden", tr("%1 (MLP %2)").arg(s.hiddenSize).arg(s.intermediateSize));
    set("modelHeads", tr("%1 heads, %2 key/value heads, head size %3")
                          .arg(s.numHeads)
                          .arg(s.numKvHeads)
                          .arg(s.headDim));
    set("modelVocabulary", tr("%1 tokens, %2 positions").arg(s.vocabSize).arg(s.maxPositions));
    set("modelEmbeddings", s.hasTiedEmbeddings ? tr("tied to the output projection")
                                               : tr("separate output projection (lm_head)"));
    std::set<std::string> storedTypes;
    for (const ModelTensor& tensor : s.tensors) {
        storedTypes.insert(tensor.dtype);
    }
    set("modelDtype",
        tr("%1 (stored as %2)")
            .arg(toQString(s.configDtype),
                 joined(std::vector<std::string>(storedTypes.begin(), storedTypes.end()),
                        QStringLiteral(", "))));
    set("modelWeights",
        tr("%1 in %n file(s)", nullptr, s.shardCount).arg(toQString(formatBytes(s.weightBytes))));
    set("modelTokenizer", s.hasTokenizer ? tr("tokenizer.json")
                                         : tr("none: the dataset preview cannot count tokens"));
    set("modelTargets", joined(s.adapterTargets, QStringLiteral(", ")));

    m_tensors->clear();
    QList<QTreeWidgetItem*> rows;
    for (const ModelTensor& tensor : s.tensors) {
        if (rows.size() >= kMaxTensorRows) {
            break;
        }
        rows << new QTreeWidgetItem(
            QStringList{toQString(tensor.name), toQString(tensor.dtype), shapeText(tensor.shape)});
    }
    m_tensors->addTopLevelItems(rows);
}

QString ModelSummaryPanel::value(const QString& rowName) const
{
    const auto* label = findChild<QLabel*>(rowName);
    return label ? label->text() : QString();
}

QString ModelSummaryPanel::statusText() const
{
    return m_status->text();
}

} // namespace ftw::ui
