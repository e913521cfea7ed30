// SPDX-License-Identifier: MIT
#include "train_form.h"

#include "bridge/qt_convert.h"

#include <QClipboard>
#include <QComboBox>
#include <QDoubleSpinBox>
#include <QFileDialog>
#include <QFormLayout>
#include <QGuiApplication>
#include <QHBoxLayout>
#include <QLabel>
#include <QLineEdit>
#include <QLocale>
#include <QPushButton>
#include <QSpinBox>
#include <QStringList>
#include <QVBoxLayout>

#include <algorithm>

namespace ftw::ui {
namespace {

/// A line edit with a Browse button that picks a folder or a file.
QWidget* withBrowse(QLineEdit* edit, bool isFolder, QWidget* parent)
{
    auto* row = new QWidget(parent);
    auto* layout = new QHBoxLayout(row);
    layout->setContentsMargins(0, 0, 0, 0);
    auto* browse = new QPushButton(QObject::tr("Browse..."), row);
    layout->addWidget(edit, 1);
    layout->addWidget(browse);
    QObject::connect(browse, &QPushButton::clicked, edit, [edit, isFolder] {
        const QString chosen = isFolder ? QFileDialog::getExistingDirectory(
                                              edit, QObject::tr("Base model folder"), edit->text())
                                        : QFileDialog::getOpenFileName(
                                              edit, QObject::tr("Dataset"), edit->text(),
                                              QObject::tr("Datasets (*.jsonl *.json *.csv *.txt)"));
        if (!chosen.isEmpty()) {
            edit->setText(chosen);
        }
    });
    return row;
}

QString shellQuoted(const QString& text)
{
    const bool isPlain = !text.isEmpty() && std::all_of(text.begin(), text.end(), [](QChar c) {
        return c.isLetterOrNumber() || QStringLiteral("-_./,:=+@%").contains(c);
    });
    if (isPlain) {
        return text;
    }
    QString quoted = text;
    quoted.replace(QStringLiteral("'"), QStringLiteral("'\\''"));
    return QStringLiteral("'") + quoted + QStringLiteral("'");
}

} // namespace

QString trainCommandLine(const TrainSpec& spec)
{
    const TrainSpec defaults;
    QStringList args = {QStringLiteral("ftw"), QStringLiteral("train")};
    auto add = [&args](const char* option, const QString& value) {
        args << QString::fromLatin1(option) << shellQuoted(value);
    };
    if (spec.runName != defaults.runName) {
        add("--name", toQString(spec.runName));
    }
    add("--model", toQString(spec.modelDir));
    add("--data", toQString(spec.data.path));
    add("--method", toQString(adapterMethodName(spec.adapter.method)));
    if (spec.adapter.r != defaults.adapter.r) {
        add("--r", QString::number(spec.adapter.r));
    }
    if (spec.adapter.alpha != defaults.adapter.alpha) {
        add("--alpha", QString::number(spec.adapter.alpha, 'g', QLocale::FloatingPointShortest));
    }
    if (!spec.adapter.targetModules.empty()) {
        QStringList targets;
        for (const std::string& target : spec.adapter.targetModules) {
            targets << toQString(target);
        }
        add("--targets", targets.join(QLatin1Char(',')));
    }
    add("--steps", QString::number(spec.train.maxSteps));
    add("--batch-size", QString::number(spec.train.batchSize));
    add("--lr", QString::number(spec.train.learningRate, 'g', QLocale::FloatingPointShortest));
    add("--scheduler", toQString(spec.train.lrScheduler));
    add("--seed", QString::number(spec.train.seed));
    return args.join(QLatin1Char(' '));
}

TrainForm::TrainForm(QWidget* parent) : QGroupBox(tr("Fine-tune a model"), parent)
{
    const TrainSpec defaults;
    m_name = new QLineEdit(toQString(defaults.runName), this);
    m_name->setObjectName(QStringLiteral("runName"));
    m_model = new QLineEdit(this);
    m_model->setObjectName(QStringLiteral("modelDir"));
    m_model->setPlaceholderText(tr("a Hugging Face model folder (config.json, *.safetensors)"));
    m_data = new QLineEdit(this);
    m_data->setObjectName(QStringLiteral("dataFile"));
    m_data->setPlaceholderText(tr(".jsonl, .json, .csv or .txt"));

    m_method = new QComboBox(this);
    m_method->setObjectName(QStringLiteral("method"));
    for (const AdapterMethod method : allAdapterMethods()) {
        m_method->addItem(toQString(adapterMethodName(method)));
    }
    m_method->setMinimumWidth(160);
    m_method->setToolTip(tr("The adapter method; see the README's table of methods."));
    m_rank = new QSpinBox(this);
    m_rank->setObjectName(QStringLiteral("rank"));
    m_rank->setRange(0, 65536);
    m_rank->setSpecialValueText(tr("method default"));
    m_rank->setToolTip(tr("Rank (LoRA family, VeRA) or block size (Bone, Bat); 0 takes the "
                          "method's default."));
    m_alpha = new QDoubleSpinBox(this);
    m_alpha->setObjectName(QStringLiteral("alpha"));
    m_alpha->setRange(0.0, 100000.0);
    m_alpha->setValue(defaults.adapter.alpha);
    m_targets = new QLineEdit(this);
    m_targets->setObjectName(QStringLiteral("targets"));
    m_targets->setPlaceholderText(tr("all-linear"));
    m_targets->setToolTip(tr("Comma-separated module names or suffixes (q_proj, v_proj), or "
                             "all-linear for every projection of the blocks."));

    m_steps = new QSpinBox(this);
    m_steps->setObjectName(QStringLiteral("steps"));
    m_steps->setRange(0, 10'000'000);
    m_steps->setSpecialValueText(tr("one epoch"));
    m_steps->setValue(100);
    m_batchSize = new QSpinBox(this);
    m_batchSize->setObjectName(QStringLiteral("batchSize"));
    m_batchSize->setRange(1, 65536);
    m_batchSize->setValue(static_cast<int>(defaults.train.batchSize));
    m_learningRate = new QDoubleSpinBox(this);
    m_learningRate->setObjectName(QStringLiteral("learningRate"));
    m_learningRate->setDecimals(6);
    m_learningRate->setRange(0.000001, 9.0);
    m_learningRate->setSingleStep(0.0001);
    m_learningRate->setValue(defaults.train.learningRate);
    m_scheduler = new QComboBox(this);
    m_scheduler->setObjectName(QStringLiteral("scheduler"));
    m_scheduler->addItems(
        {QStringLiteral("linear"), QStringLiteral("cosine"), QStringLiteral("constant")});
    m_seed = new QSpinBox(this);
    m_seed->setObjectName(QStringLiteral("seed"));
    m_seed->setRange(0, 2'000'000'000);

    m_validation = new QLabel(this);
    m_validation->setObjectName(QStringLiteral("validation"));
    m_validation->setWordWrap(true);
    m_validation->setStyleSheet(QStringLiteral("color: #b00020;"));
    m_command = new QLineEdit(this);
    m_command->setObjectName(QStringLiteral("commandLine"));
    m_command->setReadOnly(true);
    m_command->setToolTip(tr("The same run from a terminal or a script"));
    auto* copy = new QPushButton(tr("Copy"), this);
    copy->setObjectName(QStringLiteral("copyCommandLine"));
    connect(copy, &QPushButton::clicked, this,
            [this] { QGuiApplication::clipboard()->setText(m_command->text()); });
    m_start = new QPushButton(tr("Start training"), this);
    m_start->setObjectName(QStringLiteral("startTraining"));

    auto* form = new QFormLayout;
    form->setFieldGrowthPolicy(QFormLayout::ExpandingFieldsGrow); // paths wide, numbers compact
    form->addRow(tr("Run name:"), m_name);
    form->addRow(tr("Base model:"), withBrowse(m_model, true, this));
    form->addRow(tr("Dataset:"), withBrowse(m_data, false, this));
    form->addRow(tr("Method:"), m_method);
    form->addRow(tr("Rank / block size:"), m_rank);
    form->addRow(tr("Alpha:"), m_alpha);
    form->addRow(tr("Target modules:"), m_targets);
    form->addRow(tr("Steps:"), m_steps);
    form->addRow(tr("Batch size:"), m_batchSize);
    form->addRow(tr("Learning rate:"), m_learningRate);
    form->addRow(tr("Schedule:"), m_scheduler);
    form->addRow(tr("Seed:"), m_seed);
    auto* layout = new QVBoxLayout(this);
    layout->addLayout(form);
    layout->addWidget(m_validation);
    auto* commandRow = new QHBoxLayout;
    commandRow->addWidget(new QLabel(tr("Command line:"), this));
    commandRow->addWidget(m_command, 1);
    commandRow->addWidget(copy);
    layout->addLayout(commandRow);
    layout->addWidget(m_start, 0, Qt::AlignLeft);

    for (QLineEdit* edit : {m_name, m_model, m_data, m_targets}) {
        connect(edit, &QLineEdit::textChanged, this, &TrainForm::revalidate);
    }
    connect(m_method, &QComboBox::currentIndexChanged, this, &TrainForm::revalidate);
    connect(m_scheduler, &QComboBox::currentIndexChanged, this, &TrainForm::revalidate);
    for (QSpinBox* box : {m_rank, m_steps, m_batchSize, m_seed}) {
        connect(box, &QSpinBox::valueChanged, this, &TrainForm::revalidate);
    }
    for (QDoubleSpinBox* box : {m_alpha, m_learningRate}) {
        connect(box, &QDoubleSpinBox::valueChanged, this, &TrainForm::revalidate);
    }
    connect(m_start, &QPushButton::clicked, this, [this] { Q_EMIT startRequested(); });
    revalidate();
}

TrainSpec TrainForm::trainSpec() const
{
    TrainSpec spec;
    spec.runName = toStdString(m_name->text().trimmed());
    spec.modelDir = toStdString(m_model->text().trimmed());
    spec.data.path = toStdString(m_data->text().trimmed());
    spec.adapter.method =
        parseAdapterMethod(toStdString(m_method->currentText())).value_or(AdapterMethod::Lora);
    spec.adapter.r = m_rank->value();
    spec.adapter.alpha = m_alpha->value();
    for (const QString& target : m_targets->text().split(QLatin1Char(','), Qt::SkipEmptyParts)) {
        spec.adapter.targetModules.push_back(toStdString(target.trimmed()));
    }
    spec.train.maxSteps = m_steps->value();
    spec.train.batchSize = m_batchSize->value();
    spec.train.learningRate = m_learningRate->value();
    spec.train.lrScheduler = toStdString(m_scheduler->currentText());
    spec.train.seed = static_cast<std::uint64_t>(m_seed->value());
    spec.adapter.seed = spec.train.seed;
    return spec;
}

void TrainForm::setTrainSpec(const TrainSpec& spec)
{
    m_name->setText(toQString(spec.runName));
    m_model->setText(toQString(spec.modelDir));
    m_data->setText(toQString(spec.data.path));
    m_method->setCurrentText(toQString(adapterMethodName(spec.adapter.method)));
    m_rank->setValue(static_cast<int>(spec.adapter.r));
    m_alpha->setValue(spec.adapter.alpha);
    QStringList targets;
    for (const std::string& target : spec.adapter.targetModules) {
        targets.push_back(toQString(target));
    }
    m_targets->setText(targets.join(QStringLiteral(",")));
    m_steps->setValue(static_cast<int>(spec.train.maxSteps));
    m_batchSize->setValue(static_cast<int>(spec.train.batchSize));
    m_learningRate->setValue(spec.train.learningRate);
    m_scheduler->setCurrentText(toQString(spec.train.lrScheduler));
    m_seed->setValue(static_cast<int>(spec.train.seed));
}

QString TrainForm::commandLine() const
{
    return m_command->text();
}

QString TrainForm::validationMessage() const
{
    return m_validation->text();
}

void TrainForm::setJobRunning(bool isRunning)
{
    m_isJobRunning = isRunning;
    revalidate();
}

void TrainForm::revalidate()
{
    const TrainSpec spec = trainSpec();
    m_command->setText(trainCommandLine(spec));
    const Status status = validateTrainSpec(spec);
    m_validation->setText(status ? QString() : toQString(status.error().message));
    m_validation->setVisible(!status);
    m_start->setEnabled(status && !m_isJobRunning);
}

} // namespace ftw::ui
