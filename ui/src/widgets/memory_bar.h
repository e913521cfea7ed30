// SPDX-License-Identifier: MIT
#pragma once

#include <QColor>
#include <QWidget>

#include <cstdint>
#include <utility>
#include <vector>

namespace ftw::ui {

/// A horizontal bar of memory parts laid end to end (a stacked bar), scaled to the larger of their
/// sum and a capacity, with a dark line where the capacity ends. Lives on the GUI thread.
class MemoryBar : public QWidget {
    Q_OBJECT

public:
    using Part = std::pair<QColor, std::int64_t>; ///< colour and bytes

    explicit MemoryBar(QWidget* parent = nullptr);

    /// Shows `parts` in order; `capacityBytes` 0 means no capacity line (unknown).
    void setParts(std::vector<Part> parts, std::int64_t capacityBytes);
    [[nodiscard]] const std::vector<Part>& parts() const { return m_parts; }
    [[nodiscard]] std::int64_t capacityBytes() const { return m_capacityBytes; }

    [[nodiscard]] QSize sizeHint() const override;

protected:
    void paintEvent(QPaintEvent* event) override;

private:
    std::vector<Part> m_parts;
    std::int64_t m_capacityBytes = 0;
};

} // namespace ftw::ui
