// The two "Today at a glance" plots as SVG built here from journal data: no chart library.

const NS = "http://www.w3.org/2000/svg";

function svg(tag, attrs = {}, text) {
  const el = document.createElementNS(NS, tag);
  for (const [key, value] of Object.entries(attrs)) el.setAttribute(key, String(value));
  if (text !== undefined) el.textContent = text;
  return el;
}

function frame(width, height, label) {
  const root = svg("svg", { viewBox: `0 0 ${width} ${height}`, role: "img", "aria-label": label, class: "chart" });
  root.append(svg("title", {}, label));
  return root;
}

// The smallest 1, 2 or 5 × 10^k cents at or above value (at least 1.00), so the axis labels are round.
function niceCeiling(value) {
  let step = 100;
  for (;;) {
    for (const factor of [1, 2, 5]) {
      if (step * factor >= value) return step * factor;
    }
    step *= 10;
  }
}

// values: 24 integers (cents per hour 0..23); format(cents) -> a bar's label with its currency; axisFormat(cents)
// -> an axis label without it (the axis names its unit once, at its top).
export function hourlyBars(values, label, format, axisFormat, unit) {
  const width = 720;
  const height = 250;
  const left = 72;
  const bottom = 28;
  const top = 26;
  const plotH = height - bottom - top;
  const barW = (width - left - 8) / 24;
  const max = niceCeiling(Math.max(...values));
  const root = frame(width, height, label);
  for (const fraction of [0, 0.5, 1]) {
    const y = top + plotH - plotH * fraction;
    root.append(svg("line", { x1: left, x2: width - 4, y1: y, y2: y, class: "grid" }));
    root.append(svg("text", { x: left - 6, y: y + 4, "text-anchor": "end", class: "axis" },
      axisFormat(Math.round(max * fraction))));
  }
  root.append(svg("text", { x: left - 6, y: 12, "text-anchor": "end", class: "axis" }, unit));
  values.forEach((value, hour) => {
    const x = left + hour * barW;
    const barH = (plotH * value) / max;
    if (value > 0) {
      const bar = svg("rect", { x: x + 2, y: top + plotH - barH, width: barW - 4, height: barH, class: "bar" });
      bar.append(svg("title", {}, `${String(hour).padStart(2, "0")}:00 — ${format(value)}`));
      root.append(bar);
    }
    if (hour % 3 === 0) {
      root.append(svg("text", { x: x + barW / 2, y: height - 8, "text-anchor": "middle", class: "axis" },
        `${String(hour).padStart(2, "0")}`));
    }
  });
  return root;
}

// parts: [{label, value}] (cents), drawn as labelled horizontal bars, largest first; mark: the decimal separator.
export function mixBars(parts, label, format, mark) {
  const rowH = 34;
  const width = 720;
  const left = 170;
  const right = 150;
  const shown = parts.filter((p) => p.value > 0).sort((a, b) => b.value - a.value);
  const height = Math.max(rowH, shown.length * rowH) + 8;
  const total = shown.reduce((sum, p) => sum + p.value, 0);
  const max = Math.max(1, ...shown.map((p) => p.value));
  const root = frame(width, height, label);
  shown.forEach((part, index) => {
    const y = 4 + index * rowH;
    const barW = ((width - left - right) * part.value) / max;
    const share = total ? Math.round((part.value * 1000) / total) : 0;
    root.append(svg("text", { x: left - 8, y: y + rowH / 2 + 4, "text-anchor": "end", class: "axis" }, part.label));
    root.append(svg("rect", { x: left, y: y + 6, width: Math.max(2, barW), height: rowH - 12,
      class: `bar mix-${index % 6}` }));
    root.append(svg("text", { x: left + Math.max(2, barW) + 6, y: y + rowH / 2 + 4, class: "axis" },
      `${format(part.value)} (${Math.trunc(share / 10)}${mark}${share % 10} %)`));
  });
  return root;
}
