// SPDX-License-Identifier: MIT
#include "memory_bar.h"

#include <QPainter>

#include <algorithm>

namespace ftw::ui {

MemoryBar::MemoryBar(QWidget* parent) : QWidget(parent)
{
    setMinimumHeight(22);
    setSizePolicy(QSizePolicy::Expanding, QSizePolicy::Fixed);
}

void MemoryBar::setParts(std::vector<Part> parts, std::int64_t capacityBytes)
{
    m_parts = std::move(parts);
    m_capacityBytes = capacityBytes;
    update();
}

QSize MemoryBar::sizeHint() const
{
    return {300, 22};
}

void MemoryBar::paintEvent(QPaintEvent* event)
{
    Q_UNUSED(event);
    QPainter painter(this);
    const QRectF area = QRectF(rect()).adjusted(0.5, 0.5, -0.5, -0.5);
    painter.fillRect(area, palette().color(QPalette::Base));
    std::int64_t total = 0;
    for (const Part& part : m_parts) {
        total += part.second;
    }
    const double scale = static_cast<double>(std::max(total, m_capacityBytes));
    if (scale > 0.0) {
        double x = area.left();
        for (const auto& [color, bytes] : m_parts) {
            const double width = area.width() * static_cast<double>(bytes) / scale;
            painter.fillRect(QRectF(x, area.top(), width, area.height()), color);
            x += width;
        }
        if (m_capacityBytes > 0) {
            const double end =
                area.left() + area.width() * static_cast<double>(m_capacityBytes) / scale;
            painter.setPen(QPen(QColor(40, 40, 40), 2.0));
            painter.drawLine(QPointF(end, area.top()), QPointF(end, area.bottom()));
        }
    }
    painter.setPen(palette().color(QPalette::Mid));
    painter.drawRect(area);
}

} // namespace ftw::ui
