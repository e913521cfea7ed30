// SPDX-License-Identifier: MIT
#include "train_command_line.h"

#include "bridge/qt_convert.h"

#include <QJsonDocument>
#include <QJsonObject>
#include <QLocale>

#include <algorithm>

namespace ftw::ui {
namespace {

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

QString number(double value)
{
    return QString::number(value, 'g', QLocale::FloatingPointShortest);
}

/// The part of `spec` that `ftw train`'s options can set, over the defaults. Keep it in step with
/// trainCommandLine() and app/cli/train_commands.cpp.
TrainSpec expressiblePart(const TrainSpec& spec)
{
    TrainSpec e;
    e.runName = spec.runName;
    e.modelDir = spec.modelDir;
    e.data.path = spec.data.path;
    e.data.format = spec.data.format;
    e.data.maxLength = spec.data.maxLength;
    e.data.validationRatio = spec.data.validationRatio;
    e.adapter.method = spec.adapter.method;
    e.adapter.r = spec.adapter.r;
    e.adapter.alpha = spec.adapter.alpha;
    e.adapter.dropout = spec.adapter.dropout;
    e.adapter.targetModules = spec.adapter.targetModules;
    e.adapter.useRslora = spec.adapter.useRslora;
    e.adapter.loraPlusRatio = spec.adapter.loraPlusRatio;
    e.adapter.initR = spec.adapter.initR;
    e.adapter.targetR = spec.adapter.targetR;
    e.adapter.tinit = spec.adapter.tinit;
    e.adapter.tfinal = spec.adapter.tfinal;
    e.adapter.deltaT = spec.adapter.deltaT;
    const TrainConfig& t = spec.train;
    e.train.maxSteps = t.maxSteps;
    e.train.epochs = t.epochs;
    e.train.batchSize = t.batchSize;
    e.train.gradAccumulation = t.gradAccumulation;
    e.train.learningRate = t.learningRate;
    e.train.weightDecay = t.weightDecay;
    e.train.lrScheduler = t.lrScheduler;
    e.train.warmupSteps = t.warmupSteps;
    e.train.warmupRatio = t.warmupRatio;
    e.train.maxGradNorm = t.maxGradNorm;
    e.train.seed = t.seed;
    e.train.device = t.device;
    e.train.precision = t.precision;
    e.train.evalEverySteps = t.evalEverySteps;
    e.train.saveEverySteps = t.saveEverySteps;
    e.adapter.seed = t.seed;
    return e;
}

QJsonObject configObject(const TrainSpec& spec)
{
    return QJsonDocument::fromJson(QByteArray::fromStdString(runConfigJson(spec))).object();
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
    const DataConfig& d = spec.data;
    if (d.format != defaults.data.format) {
        add("--format", toQString(d.format));
    }
    if (d.maxLength != defaults.data.maxLength) {
        add("--max-length", QString::number(d.maxLength));
    }
    if (d.validationRatio != defaults.data.validationRatio) {
        add("--validation-ratio", number(d.validationRatio));
    }
    const AdapterConfig& a = spec.adapter;
    add("--method", toQString(adapterMethodName(a.method)));
    if (a.r != defaults.adapter.r) {
        add("--r", QString::number(a.r));
    }
    if (a.alpha != defaults.adapter.alpha) {
        add("--alpha", number(a.alpha));
    }
    if (a.dropout != defaults.adapter.dropout) {
        add("--dropout", number(a.dropout));
    }
    if (!a.targetModules.empty()) {
        QStringList targets;
        for (const std::string& target : a.targetModules) {
            targets << toQString(target);
        }
        add("--targets", targets.join(QLatin1Char(',')));
    }
    if (a.useRslora) {
        args << QStringLiteral("--rslora");
    }
    if (a.loraPlusRatio != defaults.adapter.loraPlusRatio) {
        add("--loraplus-ratio", number(a.loraPlusRatio));
    }
    const std::pair<const char*, std::pair<std::int64_t, std::int64_t>> adaLora[] = {
        {"--init-r", {a.initR, defaults.adapter.initR}},
        {"--target-r", {a.targetR, defaults.adapter.targetR}},
        {"--tinit", {a.tinit, defaults.adapter.tinit}},
        {"--tfinal", {a.tfinal, defaults.adapter.tfinal}},
        {"--delta-t", {a.deltaT, defaults.adapter.deltaT}},
    };
    for (const auto& [option, values] : adaLora) {
        if (values.first != values.second) {
            add(option, QString::number(values.first));
        }
    }
    const TrainConfig& t = spec.train;
    const TrainConfig& td = defaults.train;
    add("--steps", QString::number(t.maxSteps));
    if (t.epochs != td.epochs) {
        add("--epochs", number(t.epochs));
    }
    add("--batch-size", QString::number(t.batchSize));
    if (t.gradAccumulation != td.gradAccumulation) {
        add("--grad-accum", QString::number(t.gradAccumulation));
    }
    add("--lr", number(t.learningRate));
    if (t.weightDecay != td.weightDecay) {
        add("--weight-decay", number(t.weightDecay));
    }
    add("--scheduler", toQString(t.lrScheduler));
    if (t.warmupSteps != td.warmupSteps) {
        add("--warmup-steps", QString::number(t.warmupSteps));
    }
    if (t.warmupRatio != td.warmupRatio) {
        add("--warmup-ratio", number(t.warmupRatio));
    }
    if (t.maxGradNorm != td.maxGradNorm) {
        add("--max-grad-norm", number(t.maxGradNorm));
    }
    add("--seed", QString::number(t.seed));
    if (t.device != td.device) {
        add("--device", toQString(t.device));
    }
    if (t.precision != td.precision) {
        add("--precision", toQString(t.precision));
    }
    if (t.evalEverySteps != td.evalEverySteps) {
        add("--eval-every", QString::number(t.evalEverySteps));
    }
    if (t.saveEverySteps != td.saveEverySteps) {
        add("--save-every", QString::number(t.saveEverySteps));
    }
    return args.join(QLatin1Char(' '));
}

QStringList trainConfigKeysWithoutOption(const TrainSpec& spec)
{
    const QJsonObject full = configObject(spec);
    const QJsonObject expressible = configObject(expressiblePart(spec));
    QStringList keys;
    for (auto it = full.begin(); it != full.end(); ++it) {
        if (it.value().isObject()) {
            const QJsonObject section = it.value().toObject();
            const QJsonObject other = expressible.value(it.key()).toObject();
            for (auto field = section.begin(); field != section.end(); ++field) {
                if (field.value() != other.value(field.key())) {
                    keys << it.key() + QLatin1Char('.') + field.key();
                }
            }
        } else if (it.value() != expressible.value(it.key())) {
            keys << it.key();
        }
    }
    return keys;
}

} // namespace ftw::ui
