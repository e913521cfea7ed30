// SPDX-License-Identifier: MIT
#include "playground_page.h"

#include "bridge/qt_convert.h"
#include "models/adapter_run_model.h"

#include <QComboBox>
#include <QDoubleSpinBox>
#include <QFileDialog>
#include <QFormLayout>
#include <QGroupBox>
#include <QHBoxLayout>
#include <QLabel>
#include <QLineEdit>
#include <QMetaObject>
#include <QPlainTextEdit>
#include <QPushButton>
#include <QSignalBlocker>
#include <QSpinBox>
#include <QTextCursor>
#include <QTextEdit>
#include <QVBoxLayout>

#include <chrono>
#include <system_error>
#include <utility>

namespace ftw::ui {
namespace {

namespace fs = std::filesystem;

const QString kErrorStyle = QStringLiteral("color: #b00020;");
const QString kNoteStyle = QStringLiteral("color: #5f6368;");

/// A folder line edit with a Browse button.
QWidget* folderRow(QLineEdit* edit, const QString& caption, QWidget* parent)
{
    auto* row = new QWidget(parent);
    auto* layout = new QHBoxLayout(row);
    layout->setContentsMargins(0, 0, 0, 0);
    auto* browse = new QPushButton(PlaygroundPage::tr("Browse..."), row);
    layout->addWidget(edit, 1);
    layout->addWidget(browse);
    QObject::connect(browse, &QPushButton::clicked, edit, [edit, caption] {
        const QString chosen = QFileDialog::getExistingDirectory(edit, caption, edit->text());
        if (!chosen.isEmpty()) {
            edit->setText(chosen);
            Q_EMIT edit->textEdited(chosen); // a choice of the user's, like typing
        }
    });
    return row;
}

/// Replaces the document of `box` with `prompt` (bold grey) followed by `continuation`.
void showContinuation(QTextEdit* box, const QString& prompt, const QString& continuation)
{
    box->clear();
    QTextCursor cursor(box->document());
    QTextCharFormat promptFormat;
    promptFormat.setForeground(QColor(0x6b, 0x6b, 0x6b));
    promptFormat.setFontWeight(QFont::Bold);
    cursor.insertText(visibleText(prompt), promptFormat);
    cursor.insertText(visibleText(continuation), QTextCharFormat());
}

void showError(QTextEdit* box, const QString& message)
{
    box->clear();
    QTextCursor cursor(box->document());
    QTextCharFormat format;
    format.setForeground(QColor(0xb0, 0x00, 0x20));
    cursor.insertText(message, format);
}

QGroupBox* outputBox(const QString& title, QTextEdit* output, QLabel* stats, QWidget* parent)
{
    auto* box = new QGroupBox(title, parent);
    output->setReadOnly(true);
    output->setAcceptRichText(false);
    stats->setStyleSheet(kNoteStyle);
    auto* layout = new QVBoxLayout(box);
    layout->addWidget(output, 1);
    layout->addWidget(stats);
    return box;
}

} // namespace

/// What one generateText() call gave, as the GUI shows it.
struct PlaygroundPage::Outcome {
    bool isOk = false;
    QString text; ///< the continuation
    QString error;
    int tokens = 0;
    double seconds = 0.0;
    bool isStoppedByEos = false;
};

PlaygroundPage::Outcome PlaygroundPage::runGeneration(const GenerateRequest& request)
{
    const auto start = std::chrono::steady_clock::now();
    const Expected<GeneratedText> generated = generateText(request);
    Outcome outcome;
    outcome.seconds =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    if (!generated) {
        outcome.error = toQString(generated.error().message);
        return outcome;
    }
    outcome.isOk = true;
    outcome.text = toQString(generated->text);
    outcome.tokens = static_cast<int>(generated->ids.size());
    outcome.isStoppedByEos = generated->isStoppedByEos;
    return outcome;
}

QString visibleText(const QString& text)
{
    QString visible;
    visible.reserve(text.size());
    for (const QChar c : text) {
        const char16_t code = c.unicode();
        if (code == u'\n' || code == u'\t') {
            visible.append(c);
        } else if (code < 0x20) {
            visible.append(QChar(static_cast<char16_t>(0x2400 + code)));
        } else if (code == 0x7f) {
            visible.append(QChar(u'\u2421'));
        } else if (code == 0x2028 || code == 0x2029) {
            visible.append(QLatin1Char('\n'));
        } else if (code == 0xa0) {
            visible.append(QLatin1Char(' '));
        } else {
            visible.append(c);
        }
    }
    return visible;
}

PlaygroundPage::PlaygroundPage(std::filesystem::path databasePath, QWidget* parent)
    : QWidget(parent), m_databasePath(std::move(databasePath))
{
    m_runs = new AdapterRunModel(this);
    auto* title = new QLabel(tr("Playground: base and fine-tuned, side by side"), this);
    title->setObjectName(QStringLiteral("pageTitle"));

    m_run = new QComboBox(this);
    m_run->setObjectName(QStringLiteral("playgroundRun"));
    m_run->setModel(m_runs);
    m_run->setPlaceholderText(tr("choose a trained run, or type the folders below"));
    m_run->setSizeAdjustPolicy(QComboBox::AdjustToMinimumContentsLengthWithIcon);
    m_run->setMinimumContentsLength(32);
    m_model = new QLineEdit(this);
    m_model->setObjectName(QStringLiteral("playgroundModel"));
    m_model->setPlaceholderText(
        tr("base model folder (config.json, *.safetensors, tokenizer.json)"));
    m_adapter = new QLineEdit(this);
    m_adapter->setObjectName(QStringLiteral("playgroundAdapter"));
    m_adapter->setPlaceholderText(tr("adapter folder (PEFT layout); empty: the base model only"));
    m_prompt = new QPlainTextEdit(this);
    m_prompt->setObjectName(QStringLiteral("playgroundPrompt"));
    m_prompt->setPlaceholderText(tr("Type a prompt; both models continue it."));
    m_prompt->setFixedHeight(m_prompt->fontMetrics().lineSpacing() * 4 + 12);

    m_maxNewTokens = new QSpinBox(this);
    m_maxNewTokens->setObjectName(QStringLiteral("maxNewTokens"));
    m_maxNewTokens->setRange(1, 4096);
    m_maxNewTokens->setValue(48);
    m_maxNewTokens->setToolTip(tr("Generation stops after this many tokens, or at end-of-text."));
    m_temperature = new QDoubleSpinBox(this);
    m_temperature->setObjectName(QStringLiteral("temperature"));
    m_temperature->setRange(0.0, 5.0);
    m_temperature->setSingleStep(0.1);
    m_temperature->setDecimals(2);
    m_temperature->setSpecialValueText(tr("0 (greedy)"));
    m_temperature->setToolTip(tr("0 takes the most likely token each time (repeatable); higher "
                                 "values sample more freely."));
    m_seed = new QSpinBox(this);
    m_seed->setObjectName(QStringLiteral("seed"));
    m_seed->setRange(0, 2'000'000'000);
    m_seed->setEnabled(false);
    m_seed->setToolTip(tr("The sampling seed (temperature above 0): the same seed gives the same "
                          "text."));
    m_generate = new QPushButton(tr("Generate"), this);
    m_generate->setObjectName(QStringLiteral("generateButton"));
    m_generate->setDefault(true);
    m_status = new QLabel(this);
    m_status->setObjectName(QStringLiteral("playgroundStatus"));
    m_status->setWordWrap(true);

    auto* settings = new QHBoxLayout;
    settings->addWidget(new QLabel(tr("Max new tokens:"), this));
    settings->addWidget(m_maxNewTokens);
    settings->addSpacing(12);
    settings->addWidget(new QLabel(tr("Temperature:"), this));
    settings->addWidget(m_temperature);
    settings->addSpacing(12);
    settings->addWidget(new QLabel(tr("Seed:"), this));
    settings->addWidget(m_seed);
    settings->addSpacing(12);
    settings->addWidget(m_generate);
    settings->addStretch(1);

    auto* inputs = new QGroupBox(tr("Model and prompt"), this);
    auto* form = new QFormLayout;
    form->setFieldGrowthPolicy(QFormLayout::ExpandingFieldsGrow);
    form->addRow(tr("Trained run:"), m_run);
    form->addRow(tr("Base model:"), folderRow(m_model, tr("Base model folder"), this));
    form->addRow(tr("Adapter:"), folderRow(m_adapter, tr("Adapter folder"), this));
    form->addRow(tr("Prompt:"), m_prompt);
    form->addRow(QString(), settings);
    auto* inputsLayout = new QVBoxLayout(inputs);
    inputsLayout->addLayout(form);
    inputsLayout->addWidget(m_status);

    m_baseOutput = new QTextEdit(this);
    m_baseOutput->setObjectName(QStringLiteral("baseOutput"));
    m_baseOutput->setPlaceholderText(tr("The base model's continuation appears here."));
    m_baseStats = new QLabel(this);
    m_baseStats->setObjectName(QStringLiteral("baseStats"));
    m_tunedOutput = new QTextEdit(this);
    m_tunedOutput->setObjectName(QStringLiteral("tunedOutput"));
    m_tunedOutput->setPlaceholderText(tr("The continuation with the adapter appears here."));
    m_tunedStats = new QLabel(this);
    m_tunedStats->setObjectName(QStringLiteral("tunedStats"));
    auto* outputs = new QHBoxLayout;
    outputs->addWidget(outputBox(tr("Base model"), m_baseOutput, m_baseStats, this), 1);
    outputs->addWidget(outputBox(tr("Base model + adapter"), m_tunedOutput, m_tunedStats, this), 1);

    auto* layout = new QVBoxLayout(this);
    layout->addWidget(title);
    layout->addWidget(inputs);
    layout->addLayout(outputs, 1);

    connect(m_run, &QComboBox::currentIndexChanged, this, &PlaygroundPage::onRunChosen);
    for (QLineEdit* edit : {m_model, m_adapter}) {
        connect(edit, &QLineEdit::textChanged, this, &PlaygroundPage::onInputsChanged);
        // Typed folders that are no longer the chosen run's: no run is chosen.
        connect(edit, &QLineEdit::textEdited, this, [this] {
            const AdapterRun* run = m_runs->runAt(m_run->currentIndex());
            if (run != nullptr && (toPath(m_model->text()) != run->modelDir ||
                                   toPath(m_adapter->text()) != run->adapterDir)) {
                const QSignalBlocker blocker(m_run);
                m_run->setCurrentIndex(-1);
            }
        });
    }
    connect(m_prompt, &QPlainTextEdit::textChanged, this, &PlaygroundPage::onInputsChanged);
    connect(m_maxNewTokens, &QSpinBox::valueChanged, this, &PlaygroundPage::onInputsChanged);
    connect(m_seed, &QSpinBox::valueChanged, this, &PlaygroundPage::onInputsChanged);
    connect(m_temperature, &QDoubleSpinBox::valueChanged, this, [this](double temperature) {
        m_seed->setEnabled(temperature > 0.0);
        onInputsChanged();
    });
    connect(m_generate, &QPushButton::clicked, this, &PlaygroundPage::generate);
    onInputsChanged();
}

PlaygroundPage::~PlaygroundPage()
{
    m_worker.request_stop();
    if (m_worker.joinable()) {
        m_worker.join();
    }
}

void PlaygroundPage::showEvent(QShowEvent* event)
{
    QWidget::showEvent(event);
    refresh();
}

void PlaygroundPage::refresh()
{
    const QVariant current = m_run->currentData(AdapterRunModel::RunIdRole);
    const QSignalBlocker blocker(m_run);
    const QString error = m_runs->reload(m_databasePath);
    if (!error.isEmpty()) {
        showStatus(tr("Cannot read the run store: %1").arg(error), true);
    }
    const int row = current.isValid() ? m_runs->rowOfRun(current.toLongLong()) : -1;
    m_run->setCurrentIndex(row);
    if (row < 0 && m_model->text().isEmpty() && m_adapter->text().isEmpty() &&
        m_runs->rowCount() > 0) {
        m_run->setCurrentIndex(0); // a fresh page starts from the newest run
        onRunChosen();
    }
}

void PlaygroundPage::showRun(RunId id)
{
    refresh();
    const int row = m_runs->rowOfRun(id);
    if (row >= 0) {
        const QSignalBlocker blocker(m_run);
        m_run->setCurrentIndex(row);
        onRunChosen();
    }
}

void PlaygroundPage::onRunChosen()
{
    const AdapterRun* run = m_runs->runAt(m_run->currentIndex());
    if (run == nullptr) {
        return;
    }
    m_model->setText(toQString(run->modelDir));
    m_adapter->setText(toQString(run->adapterDir));
}

GenerateRequest PlaygroundPage::baseRequest() const
{
    GenerateRequest request;
    request.modelDir = toPath(m_model->text().trimmed());
    request.prompt = toStdString(m_prompt->toPlainText());
    request.maxNewTokens = m_maxNewTokens->value();
    request.temperature = m_temperature->value();
    request.seed = static_cast<std::uint64_t>(m_seed->value());
    return request;
}

std::optional<GenerateRequest> PlaygroundPage::tunedRequest() const
{
    const QString adapter = m_adapter->text().trimmed();
    if (adapter.isEmpty()) {
        return std::nullopt;
    }
    GenerateRequest request = baseRequest();
    request.adapterDir = toPath(adapter);
    return request;
}

QString PlaygroundPage::validationMessage() const
{
    const QString model = m_model->text().trimmed();
    std::error_code ec;
    if (model.isEmpty()) {
        return tr("Choose a base model folder, or pick a trained run.");
    }
    if (!fs::is_directory(toPath(model), ec)) {
        return tr("The base model folder '%1' does not exist.").arg(model);
    }
    const QString adapter = m_adapter->text().trimmed();
    if (!adapter.isEmpty() && !fs::is_directory(toPath(adapter), ec)) {
        return tr("The adapter folder '%1' does not exist; clear the field to run the base model "
                  "alone.")
            .arg(adapter);
    }
    if (m_prompt->toPlainText().isEmpty()) {
        return promptHint();
    }
    return {};
}

QString PlaygroundPage::promptHint()
{
    return tr("Type a prompt for the models to continue.");
}

void PlaygroundPage::showStatus(const QString& text, bool isError)
{
    m_status->setStyleSheet(isError ? kErrorStyle : kNoteStyle);
    m_status->setText(text);
}

void PlaygroundPage::onInputsChanged()
{
    ++m_inputsVersion;
    if (m_isGenerating) {
        showStatus(tr("Generating... the inputs changed: these results will not be shown; "
                      "Generate again when it ends."),
                   false);
        return;
    }
    const QString problem = validationMessage();
    m_generate->setEnabled(problem.isEmpty());
    if (!problem.isEmpty()) {
        // An empty prompt is where every visit starts: a note, not an error.
        showStatus(problem, problem != promptHint());
    } else if (m_shownVersion != 0) {
        showStatus(tr("The outputs below are for earlier inputs: Generate again."), false);
    } else {
        showStatus(QString(), false);
    }
}

void PlaygroundPage::generate()
{
    if (m_isGenerating || !validationMessage().isEmpty()) {
        return;
    }
    if (m_worker.joinable()) {
        m_worker.join(); // the previous one has posted its last result
    }
    m_isGenerating = true;
    m_hasFailed = false;
    m_shownVersion = 0; // the boxes are cleared below
    m_generate->setEnabled(false);
    showStatus(tr("Generating... (the model loads on the CPU first)"), false);
    const std::optional<GenerateRequest> tuned = tunedRequest();
    m_baseOutput->clear();
    m_tunedOutput->clear();
    m_baseStats->setText(tr("generating..."));
    m_tunedStats->setText(tuned ? tr("waiting for the base model...") : QString());
    if (!tuned) {
        showError(m_tunedOutput, tr("No adapter chosen: pick a trained run or an adapter folder."));
    }
    const std::uint64_t version = m_inputsVersion;
    m_worker = std::jthread([this, version, base = baseRequest(), tuned](std::stop_token stop) {
        const Outcome baseOutcome = runGeneration(base);
        QMetaObject::invokeMethod(
            this, [this, version, baseOutcome] { showOutcome(false, version, baseOutcome); },
            Qt::QueuedConnection);
        if (tuned && baseOutcome.isOk && !stop.stop_requested()) {
            const Outcome tunedOutcome = runGeneration(*tuned);
            QMetaObject::invokeMethod(
                this, [this, version, tunedOutcome] { showOutcome(true, version, tunedOutcome); },
                Qt::QueuedConnection);
        }
        QMetaObject::invokeMethod(
            this, [this, version] { onWorkerDone(version); }, Qt::QueuedConnection);
    });
}

void PlaygroundPage::showOutcome(bool isTuned, std::uint64_t version, const Outcome& outcome)
{
    if (version != m_inputsVersion) {
        return; // stale: the inputs changed after Generate
    }
    QTextEdit* box = isTuned ? m_tunedOutput : m_baseOutput;
    QLabel* stats = isTuned ? m_tunedStats : m_baseStats;
    if (!outcome.isOk) {
        const QString side = isTuned ? tr("Base model + adapter") : tr("Base model");
        showError(box, outcome.error);
        stats->setText(tr("failed after %1 s").arg(outcome.seconds, 0, 'f', 2));
        showStatus(tr("%1: %2").arg(side, outcome.error), true);
        m_hasFailed = true;
        if (!isTuned && tunedRequest()) {
            showError(m_tunedOutput, tr("Not run: the base model failed (see its message)."));
            m_tunedStats->clear();
        }
        return;
    }
    showContinuation(box, m_prompt->toPlainText(), outcome.text);
    stats->setText(
        tr("%n token(s) in %1 s, %2", nullptr, outcome.tokens)
            .arg(outcome.seconds, 0, 'f', 2)
            .arg(outcome.isStoppedByEos ? tr("ended by end-of-text") : tr("stopped at the limit")));
}

void PlaygroundPage::onWorkerDone(std::uint64_t version)
{
    m_isGenerating = false;
    if (m_worker.joinable()) {
        m_worker.join(); // it has returned or is returning: this was its last post
    }
    const bool isStale = version != m_inputsVersion;
    if (!isStale) {
        m_shownVersion = version;
        if (!m_hasFailed) {
            showStatus(QString(), false);
        }
    }
    const QString problem = validationMessage();
    m_generate->setEnabled(problem.isEmpty());
    if (isStale) {
        m_baseStats->clear();
        m_tunedStats->clear();
        showStatus(problem.isEmpty()
                       ? tr("The inputs changed while generating, so those results were not "
                            "shown: Generate again.")
                       : problem,
                   !problem.isEmpty());
    }
    Q_EMIT generationFinished();
}

} // namespace ftw::ui
