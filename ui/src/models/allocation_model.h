// SPDX-License-Identifier: MIT
#pragma once

#include <ftw/run_store.h>

#include <QAbstractTableModel>
#include <QColor>
#include <QString>

#include <optional>
#include <vector>

namespace ftw::ui {

/// The adapter layout of a run as a heatmap: one row per layer ("layer 0", ..., then "lm_head"
/// when adapted), one column per module kind in model order. A cell shows the module's rank ("off"
/// when it is disabled, "on" when it has no rank as in full fine-tuning, empty when the module is
/// not adapted) and is coloured by the chosen quantity (rank, parameters or a proxy score) on a
/// light-to-saturated scale normalised over the table. With a second run to compare, every cell
/// shows A - B of the quantity on a diverging scale instead. Read-only; lives on the GUI thread;
/// does no I/O.
class AllocationModel : public QAbstractTableModel {
    Q_OBJECT

public:
    /// What the colours (and, when comparing, the numbers) show. None: no colour.
    enum class Quantity { None, Rank, Parameters, GradNorm, Snip, Synflow, Random };

    enum Role {
        /// The cell's value of the quantity as a double (A - B when comparing); invalid when
        /// there is none.
        ValueRole = Qt::UserRole + 1,
        /// Whether run A adapts the module (bool).
        IsAdaptedRole,
    };

    /// One run and its layout (RunStore::adapterLayout()).
    struct Run {
        RunSummary summary;
        std::vector<AdapterLayoutEntry> layout;
    };

    /// The span of the colour scale: min and max of the values (when comparing, -m and m with m
    /// the largest |A - B|).
    struct Range {
        double min = 0.0;
        double max = 0.0;
    };

    explicit AllocationModel(QObject* parent = nullptr);

    /// Shows `run` alone (ends a comparison). Keeps the quantity when the run has it, else Rank
    /// (Parameters when no module has a rank).
    void setRun(Run run);
    /// Compares the shown run (A) with `other` (B); std::nullopt ends the comparison.
    void setComparison(std::optional<Run> other);
    /// Colours (and, when comparing, shows) `quantity`; ignored unless it is available.
    void setQuantity(Quantity quantity);

    [[nodiscard]] Quantity quantity() const { return m_quantity; }
    [[nodiscard]] bool isComparing() const { return m_other.has_value(); }
    [[nodiscard]] const std::optional<Run>& run() const { return m_run; }
    [[nodiscard]] const std::optional<Run>& comparison() const { return m_other; }
    /// Rank when a module has one, Parameters, then each proxy score some module has.
    [[nodiscard]] std::vector<Quantity> availableQuantities() const;
    [[nodiscard]] static QString quantityName(Quantity quantity);

    /// The module kinds of the columns ("self_attn.q_proj", ...) and the layers of the rows (-1:
    /// lm_head).
    [[nodiscard]] const std::vector<QString>& moduleKinds() const { return m_kinds; }
    [[nodiscard]] const std::vector<std::int64_t>& layers() const { return m_layers; }

    /// The cell's value of the quantity (A - B when comparing); std::nullopt when none.
    [[nodiscard]] std::optional<double> value(int row, int column) const;
    /// The colour scale's span; std::nullopt when no cell has a value.
    [[nodiscard]] std::optional<Range> range() const { return m_range; }
    /// The colour of `value` on the current scale (diverging when comparing).
    [[nodiscard]] QColor colorFor(double value) const;
    /// A value formatted as the cells and the legend show it.
    [[nodiscard]] QString formatValue(double value) const;

    /// Modules run A adapts (enabled) and the sum of their parameters.
    [[nodiscard]] int adaptedModules() const;
    [[nodiscard]] std::int64_t trainableParams() const;

    [[nodiscard]] int rowCount(const QModelIndex& parent = {}) const override;
    [[nodiscard]] int columnCount(const QModelIndex& parent = {}) const override;
    [[nodiscard]] QVariant data(const QModelIndex& index,
                                int role = Qt::DisplayRole) const override;
    [[nodiscard]] QVariant headerData(int section, Qt::Orientation orientation,
                                      int role = Qt::DisplayRole) const override;

private:
    using Grid = std::vector<const AdapterLayoutEntry*>; ///< [row * columns + column], null: none

    void rebuild();
    void updateRange();
    [[nodiscard]] const AdapterLayoutEntry* cell(const Grid& grid, int row, int column) const;
    [[nodiscard]] std::optional<double> quantityOf(const AdapterLayoutEntry* entry) const;
    [[nodiscard]] QString displayOf(int row, int column) const;
    [[nodiscard]] QString toolTipOf(int row, int column) const;

    std::optional<Run> m_run;
    std::optional<Run> m_other;
    Quantity m_quantity = Quantity::Rank;
    std::vector<QString> m_kinds;
    std::vector<QString> m_shortKinds;
    std::vector<std::int64_t> m_layers;
    Grid m_cells;
    Grid m_otherCells;
    std::optional<Range> m_range;
};

} // namespace ftw::ui
