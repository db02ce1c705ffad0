// Bar charts as SVG built from the DOM: no library, no inline styles (CSP), colours
// from app.css (so they follow prefers-color-scheme). The charts are decorative
// for assistive technology: each has a data table beside it.

const SVG = "http://www.w3.org/2000/svg";
const HEIGHT = 180;
const TOP = 20; // room for the values above the bars
const BOTTOM = 22; // room for the labels under the bars

function node(name, attributes = {}, text = null) {
  const element = document.createElementNS(SVG, name);
  for (const [key, value] of Object.entries(attributes)) element.setAttribute(key, String(value));
  if (text !== null) element.textContent = text;
  return element;
}

// bars: [{ label, value }]; draws into `container` at its current width, with a
// label under every bar that has `labelWidth` pixels of room.
export function drawBars(container, bars, labelWidth = 44) {
  const width = Math.max(240, Math.round(container.clientWidth || 600));
  const plotHeight = HEIGHT - TOP - BOTTOM;
  const max = Math.max(1, ...bars.map((bar) => bar.value));
  const slot = width / Math.max(1, bars.length);
  const barWidth = Math.max(1, slot * (bars.length > 60 ? 0.9 : 0.7));
  const every = Math.max(1, Math.ceil(bars.length / Math.floor(width / labelWidth)));
  const showValues = slot >= 22;

  const svg = node("svg", {
    width,
    height: HEIGHT,
    viewBox: `0 0 ${width} ${HEIGHT}`,
    "aria-hidden": "true",
    focusable: "false",
  });
  bars.forEach((bar, i) => {
    const centre = slot * i + slot / 2;
    const height = Math.round((bar.value / max) * plotHeight);
    svg.append(
      node("rect", {
        class: "bar",
        x: (centre - barWidth / 2).toFixed(1),
        y: TOP + plotHeight - height,
        width: barWidth.toFixed(1),
        height,
      }),
    );
    if (showValues && bar.value > 0) {
      svg.append(node("text", { class: "value", x: centre, y: TOP + plotHeight - height - 5, "text-anchor": "middle" }, bar.value));
    }
    if (i % every === 0) {
      svg.append(node("text", { x: centre, y: HEIGHT - 6, "text-anchor": "middle" }, bar.label));
    }
  });
  svg.append(node("line", { class: "axis", x1: 0, x2: width, y1: TOP + plotHeight + 0.5, y2: TOP + plotHeight + 0.5 }));
  container.replaceChildren(svg);
}
