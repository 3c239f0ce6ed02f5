// Arrivals per minute as an SVG bar chart (no library, no inline styles).

import { svg } from "./dom.js";
import { clock } from "./format.js";

const WIDTH = 720;
const HEIGHT = 220;
const LEFT = 40;
const BOTTOM = 24;
const TOP = 10;

/** `points`: `[{minute, events}]`, oldest first (GET /stats `per_minute`). */
export function arrivalsChart(points) {
  const total = points.reduce((sum, p) => sum + p.events, 0);
  const peak = Math.max(1, ...points.map((p) => p.events));
  const plotWidth = WIDTH - LEFT - 8;
  const plotHeight = HEIGHT - TOP - BOTTOM;
  const step = plotWidth / Math.max(points.length, 1);
  const y = (value) => TOP + plotHeight - (value / peak) * plotHeight;
  const chart = svg("svg", {
    class: "chart", viewBox: `0 0 ${WIDTH} ${HEIGHT}`, role: "img",
    "aria-label": `Arrivals per minute over the last hour: ${total} in total, at most ${peak === 1 && total === 0 ? 0 : peak} in one minute`,
  });
  for (const value of [0, peak / 2, peak]) {
    chart.append(
      svg("line", { class: "grid", x1: LEFT, x2: WIDTH - 8, y1: y(value), y2: y(value) }),
      svg("text", { class: "axis", x: LEFT - 6, y: y(value) + 4, "text-anchor": "end" },
        Number.isInteger(value) ? value : value.toFixed(1)));
  }
  points.forEach((point, i) => {
    const height = (point.events / peak) * plotHeight;
    chart.append(svg("rect", {
      class: "bar", x: LEFT + i * step + 1, y: TOP + plotHeight - height,
      width: Math.max(step - 2, 1), height, "data-events": point.events,
    }, svg("title", {}, `${clock(point.minute)}: ${point.events} event${point.events === 1 ? "" : "s"}`)));
  });
  const labelAt = [0, Math.floor(points.length / 2), points.length - 1];
  for (const i of new Set(labelAt)) {
    if (!points[i]) continue;
    chart.append(svg("text", {
      class: "axis", x: LEFT + i * step + step / 2, y: HEIGHT - 6, "text-anchor": "middle",
    }, clock(points[i].minute)));
  }
  return chart;
}
