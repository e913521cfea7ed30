// SPDX-License-Identifier: MIT
#pragma once

#include <ftw/generation.h>
#include <ftw/run_store.h>

#include <QWidget>

#include <cstdint>
#include <filesystem>
#include <optional>
#include <thread>

class QComboBox;
class QDoubleSpinBox;
class QLabel;
class QLineEdit;
class QPlainTextEdit;
class QPushButton;
class QSpinBox;
class QTextEdit;

namespace ftw::ui {

class AdapterRunModel;

/// `text` as the playground shows it: control characters other than newline and tab become their
/// Unicode control pictures (U+2400 + code), so that the stray bytes of an untrained model stay
/// visible; line and paragraph separators become newlines and no-break spaces plain spaces.
[[nodiscard]] QString visibleText(const QString& text);

/// The Playground page: one prompt continued by the base model and by the base model with an
/// adapter, side by side. Pick a trained run to fill both folders, or type them. Generate runs
/// generateText() for both on a worker thread (the window stays responsive) and shows each output
/// when it arrives; results of inputs that have changed meanwhile are dropped. Errors are shown in
/// the page. Lives on the GUI thread.
class PlaygroundPage : public QWidget {
    Q_OBJECT

public:
    explicit PlaygroundPage(std::filesystem::path databasePath, QWidget* parent = nullptr);
    /// NOTE: waits for a generation in progress to end (generateText() cannot be interrupted);
    /// the base + adapter one is skipped if it has not started yet.
    ~PlaygroundPage() override;

    /// Re-reads the trained runs with adapters from the store.
    void refresh();
    /// Fills the folders from run `id` (after a refresh); ignored when it has no adapter folder.
    void showRun(RunId id);

    /// What Generate asks of the base model.
    [[nodiscard]] GenerateRequest baseRequest() const;
    /// What Generate asks of the base model + adapter; std::nullopt when no adapter is given.
    [[nodiscard]] std::optional<GenerateRequest> tunedRequest() const;
    /// What is wrong with the fields, empty when Generate may be clicked.
    [[nodiscard]] QString validationMessage() const;
    /// What validationMessage() says when only the prompt is missing (shown as a note).
    [[nodiscard]] static QString promptHint();
    [[nodiscard]] bool isGenerating() const { return m_isGenerating; }

    [[nodiscard]] QComboBox* runBox() const { return m_run; }
    [[nodiscard]] QLineEdit* modelEdit() const { return m_model; }
    [[nodiscard]] QLineEdit* adapterEdit() const { return m_adapter; }
    [[nodiscard]] QPlainTextEdit* promptEdit() const { return m_prompt; }
    [[nodiscard]] QSpinBox* maxNewTokensBox() const { return m_maxNewTokens; }
    [[nodiscard]] QDoubleSpinBox* temperatureBox() const { return m_temperature; }
    [[nodiscard]] QSpinBox* seedBox() const { return m_seed; }
    [[nodiscard]] QPushButton* generateButton() const { return m_generate; }
    [[nodiscard]] QLabel* statusLabel() const { return m_status; }
    [[nodiscard]] QTextEdit* baseOutput() const { return m_baseOutput; }
    [[nodiscard]] QTextEdit* tunedOutput() const { return m_tunedOutput; }
    [[nodiscard]] QLabel* baseStats() const { return m_baseStats; }
    [[nodiscard]] QLabel* tunedStats() const { return m_tunedStats; }

Q_SIGNALS:
    /// The outputs (or errors) of a Generate click have been shown, or dropped as stale.
    void generationFinished();

protected:
    void showEvent(QShowEvent* event) override;

private:
    struct Outcome;

    /// Worker thread: one blocking generateText(), timed (the model load included).
    static Outcome runGeneration(const GenerateRequest& request);
    void onRunChosen();
    void onInputsChanged();
    void generate();
    void showOutcome(bool isTuned, std::uint64_t version, const Outcome& outcome);
    void onWorkerDone(std::uint64_t version);
    void showStatus(const QString& text, bool isError);

    std::filesystem::path m_databasePath;
    AdapterRunModel* m_runs = nullptr;
    QComboBox* m_run = nullptr;
    QLineEdit* m_model = nullptr;
    QLineEdit* m_adapter = nullptr;
    QPlainTextEdit* m_prompt = nullptr;
    QSpinBox* m_maxNewTokens = nullptr;
    QDoubleSpinBox* m_temperature = nullptr;
    QSpinBox* m_seed = nullptr;
    QPushButton* m_generate = nullptr;
    QLabel* m_status = nullptr;
    QTextEdit* m_baseOutput = nullptr;
    QTextEdit* m_tunedOutput = nullptr;
    QLabel* m_baseStats = nullptr;
    QLabel* m_tunedStats = nullptr;
    std::uint64_t m_inputsVersion = 0; ///< bumped by every edit; results carry the one they ran
    std::uint64_t m_shownVersion = 0;  ///< the inputs the shown outputs came from (0: none)
    bool m_isGenerating = false;
    bool m_hasFailed = false; ///< the latest Generate showed an error
    std::jthread m_worker;    // last: joined before the members above go
};

} // namespace ftw::ui
