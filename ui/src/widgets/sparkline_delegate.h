// SPDX-License-Identifier: MIT
#pragma once

#include <QStyledItemDelegate>

namespace ftw::ui {

/// Paints a small line chart of the QList<double> an index holds under a data role (the runs
/// table's loss curve) inside its cell: scaled to the cell's own minimum and maximum, with the
/// last value as a dot. A cell with fewer than two values is left blank. Lives on the GUI thread.
class SparklineDelegate : public QStyledItemDelegate {
    Q_OBJECT

public:
    explicit SparklineDelegate(int role, QObject* parent = nullptr);

    void paint(QPainter* painter, const QStyleOptionViewItem& option,
               const QModelIndex& index) const override;
    QSize sizeHint(const QStyleOptionViewItem& option, const QModelIndex& index) const override;

    /// The polyline of `values` fitted into `rect` (x evenly spaced, the largest value at the
    /// top); empty for fewer than two values. Pure; used by paint() and by tests.
    [[nodiscard]] static QPolygonF polyline(const QList<double>& values, const QRectF& rect);

private:
    int m_role;
};

} // namespace ftw::ui
