// Pick a Number: the page's behaviour. No build step, no dependencies, no third
// parties; it runs under `Content-Security-Policy: default-src 'self'`.
import { ApiError, dailyStats, newIdempotencyKey, submitNumber } from "./api.js";
import { drawBars } from "./charts.js";

const DEFAULT_RANGE_DAYS = 7;
const MAX_RANGE_DAYS = 366;
// The rollups follow the table's stream, so a new pick shows up after a moment:
// poll a few times (about 10 s in all) and never add it client-side. Each pick costs
// the API at most 1 + POLL_DELAYS_MS.length reads of daily-stats, no retry among them:
// the API's daily-stats throttle is priced on that (WEB_STATS_CALLS_PER_PICK in
// infra/topology.py; tests/e2e hold this file to it).
const POLL_DELAYS_MS = [1000, 3000, 6000];

const $ = (id) => document.getElementById(id);
const pickForm = $("pick-form");
const submitButton = $("submit");
const shareLocation = $("share-location");
const submitFeedback = $("submit-feedback");
const rangeForm = $("range-form");
const fromInput = $("from");
const toInput = $("to");
const statsSection = $("stats");
const statsFeedback = $("stats-feedback");
const statsBody = $("stats-body");
const number = new Intl.NumberFormat(undefined, { maximumFractionDigits: 2 });
const wait = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

// ---- UTC days ---------------------------------------------------------------
const isoDay = (date) => date.toISOString().slice(0, 10);
const addDays = (day, n) => {
  const date = new Date(`${day}T00:00:00Z`);
  date.setUTCDate(date.getUTCDate() + n);
  return isoDay(date);
};
const isDay = (value) => /^\d{4}-\d{2}-\d{2}$/.test(value) && !Number.isNaN(Date.parse(value));
const daysIn = (from, to) => Math.round((Date.parse(to) - Date.parse(from)) / 864e5) + 1;

// ---- feedback in live regions ----------------------------------------------
// kind: "info" | "ok" | "error"; `lead` is a word that says it without colour.
function say(region, kind, text, { lead = null, items = [] } = {}) {
  region.className = `feedback ${kind}`;
  const paragraph = document.createElement("p");
  if (lead) {
    const strong = document.createElement("strong");
    strong.textContent = `${lead} `;
    paragraph.append(strong);
  }
  paragraph.append(text);
  const parts = [paragraph];
  if (items.length) {
    const list = document.createElement("ul");
    for (const item of items) {
      const li = document.createElement("li");
      li.textContent = item;
      list.append(li);
    }
    parts.push(list);
  }
  region.replaceChildren(...parts);
}
const clear = (region) => region.replaceChildren();

// What went wrong, in words; a problem+json detail is shown as the server said it.
function explain(error, what) {
  if (!(error instanceof ApiError)) return { text: `${what} ${error.message}`, items: [] };
  const tries = error.attempts > 1 ? ` (tried ${error.attempts} times)` : "";
  if (error.kind === "network") {
    return { text: `${what} The server could not be reached${tries}. Check your connection and try again.`, items: [] };
  }
  if (error.kind === "throttled") {
    const later = error.retryAfterMs ? ` in ${Math.ceil(error.retryAfterMs / 1000)} seconds` : " in a minute";
    return { text: `${what} The server is busy with too many requests${tries}. Please try again${later}.`, items: [] };
  }
  const problem = error.problem;
  const items = (problem?.errors || [])
    .map((e) => [e.field, e.detail].filter(Boolean).join(": "))
    .filter(Boolean);
  const said = problem ? [problem.title, problem.detail].filter(Boolean).join(": ") : `HTTP ${error.status}`;
  if (error.kind === "server") {
    return { text: `${what} The server had a problem${tries} (${said}). Please try again in a moment.`, items };
  }
  return { text: `${what} ${said}`, items };
}

// ---- location: only asked for when the box is ticked ----------------------------
let locationRequest = null;

function requestLocation() {
  return new Promise((resolve, reject) => {
    if (!("geolocation" in navigator)) {
      reject(new Error("This browser cannot share a location here."));
      return;
    }
    navigator.geolocation.getCurrentPosition(
      // Rounded to 0.1 degree (about 11 km) before it leaves the browser.
      ({ coords }) =>
        resolve({
          latitude: Math.round(coords.latitude * 10) / 10,
          longitude: Math.round(coords.longitude * 10) / 10,
        }),
      (error) =>
        reject(new Error(error.code === 1 ? "Permission to use your location was denied." : "Your location could not be found.")),
      { enableHighAccuracy: false, maximumAge: 600000, timeout: 15000 },
    );
  });
}

shareLocation.addEventListener("change", () => {
  if (!shareLocation.checked) {
    locationRequest = null;
    return;
  }
  const request = requestLocation();
  locationRequest = request;
  request.catch((error) => {
    if (locationRequest !== request) return;
    locationRequest = null;
    shareLocation.checked = false;
    say(submitFeedback, "error", `${error.message} Your pick will be sent without a location.`, { lead: "Location not shared." });
  });
});

// ---- submitting a pick ------------------------------------------------------
// The submission not yet confirmed by the server: the same pick sent again (by a
// retry or by pressing Submit again after a failure) reuses its key and its exact
// body, so it can never be counted twice. A new pick gets a fresh key.
let pending = null;
let submitting = false;

function chosenNumber() {
  const checked = pickForm.querySelector('input[name="number"]:checked');
  return checked ? Number(checked.value) : null;
}

// Counts per day around "now" before the first send: the stats include the pick
// once its day's count for its number has grown past this.
async function countsBefore() {
  const today = isoDay(new Date());
  try {
    const stats = await dailyStats(addDays(today, -1), addDays(today, 1), { retry: false });
    return Object.fromEntries(stats.days.map((day) => [day.date, day.histogram]));
  } catch {
    return null; // the pick matters more than the baseline
  }
}

async function submitPick(event) {
  event.preventDefault();
  if (submitting) return;
  const picked = chosenNumber();
  if (picked === null) {
    say(submitFeedback, "error", "Choose a number from 1 to 10 first.", { lead: "Nothing sent." });
    pickForm.querySelector('input[name="number"]').focus();
    return;
  }
  const share = shareLocation.checked;
  submitting = true;
  submitButton.setAttribute("aria-disabled", "true");
  say(submitFeedback, "info", `Sending your pick, ${picked}…`);
  try {
    if (!pending || pending.number !== picked || pending.share !== share) {
      const location = share ? await (locationRequest ??= requestLocation()) : null;
      const body = { number: picked, timestamp: new Date().toISOString() };
      if (location) body.location = location;
      pending = { key: newIdempotencyKey(), body: JSON.stringify(body), number: picked, share, before: await countsBefore() };
    }
    const sent = pending;
    const { submission } = await submitNumber(sent.body, sent.key, {
      onRetry: ({ attempt, of, reason, delayMs }) => {
        const why = { network: "No answer from the server", throttled: "The server is busy", server: "The server is unavailable" }[reason];
        say(submitFeedback, "info", `${why}; trying again in ${Math.ceil(delayMs / 1000)} s (attempt ${attempt} of ${of})…`);
      },
    });
    // Kept pending: sending it again replays the same request, so it cannot count twice.
    if (!submission || typeof submission.number !== "number") throw new Error("The server's answer was not understood.");
    pending = null;
    say(submitFeedback, "ok", `You picked ${submission.number} (UTC day ${submission.date}).`, { lead: "Thank you!" });
    refreshUntilIncluded(submission, sent.before);
  } catch (error) {
    // A refusal (4xx) is final for this body: the next try starts afresh.
    if (error instanceof ApiError && error.kind === "client") pending = null;
    const { text, items } = explain(error, "Your pick was not saved.");
    say(submitFeedback, "error", text, { lead: "Error.", items });
  } finally {
    submitting = false;
    submitButton.removeAttribute("aria-disabled");
  }
}

// ---- statistics -------------------------------------------------------------
let latest = null; // the stats on screen, for redrawing at another width
let sequence = 0; // only the newest request may paint

function setRange(from, to) {
  fromInput.value = from;
  toInput.value = to;
}

function checkedRange() {
  const from = fromInput.value;
  const to = toInput.value;
  fromInput.removeAttribute("aria-invalid");
  toInput.removeAttribute("aria-invalid");
  let problem = null;
  if (!isDay(from)) problem = [fromInput, "Enter a start day."];
  else if (!isDay(to)) problem = [toInput, "Enter an end day."];
  else if (from > to) problem = [fromInput, "The start day must not be after the end day."];
  else if (daysIn(from, to) > MAX_RANGE_DAYS) problem = [fromInput, `Choose at most ${MAX_RANGE_DAYS} days.`];
  if (!problem) return { from, to };
  problem[0].setAttribute("aria-invalid", "true");
  say(statsFeedback, "error", problem[1], { lead: "Check the dates." });
  return null;
}

function fillTable(id, rows) {
  const body = $(id).tBodies[0];
  body.replaceChildren(
    ...rows.map((cells) => {
      const tr = document.createElement("tr");
      cells.forEach((cell, i) => {
        const td = document.createElement(i === 0 ? "th" : "td");
        if (i === 0) td.scope = "row";
        td.textContent = cell;
        tr.append(td);
      });
      return tr;
    }),
  );
}

const picks = (n) => `${number.format(n)} ${n === 1 ? "pick" : "picks"}`;
const mean = (value) => (value === null ? "–" : number.format(value));

// Every number tied for the top count, from the histogram: the API's `mode` names
// only the smallest of them, which a visitor would read as the winner.
function mostPicked(histogram) {
  const top = Math.max(0, ...Object.values(histogram));
  if (top === 0) return "–";
  const tied = Object.keys(histogram)
    .filter((n) => histogram[n] === top)
    .sort((a, b) => a - b);
  if (tied.length === 1) return tied[0];
  return `${tied.slice(0, -1).join(", ")} and ${tied.at(-1)} (tie)`;
}

function draw() {
  if (!latest || statsBody.hidden) return;
  const histogram = latest.total.histogram;
  drawBars($("hist-chart"), Object.keys(histogram).map((n) => ({ label: n, value: histogram[n] })), 20);
  drawBars($("days-chart"), latest.days.map((day) => ({ label: day.date.slice(5), value: day.count })));
}

function render(stats) {
  latest = stats;
  const { total } = stats;
  $("total-count").textContent = number.format(total.count);
  $("total-mean").textContent = mean(total.mean);
  $("total-mode").textContent = mostPicked(total.histogram);
  fillTable("hist-table", Object.entries(total.histogram).map(([n, count]) => [n, String(count)]));
  fillTable("days-table", stats.days.map((day) => [day.date, String(day.count), mean(day.mean)]));
  statsBody.hidden = total.count === 0;
  draw();
}

// Loads and shows the stats of the chosen range; returns them, or null.
// A quiet load (a poll) is not retried: the next poll is its retry.
async function loadStats({ quiet = false } = {}) {
  const range = checkedRange();
  if (!range) return null;
  const mine = ++sequence;
  statsSection.setAttribute("aria-busy", "true");
  if (!quiet) say(statsFeedback, "info", "Loading the statistics…");
  try {
    const stats = await dailyStats(range.from, range.to, { retry: !quiet });
    if (mine !== sequence) return null;
    render(stats);
    if (stats.total.count === 0) {
      say(statsFeedback, "info", `No picks between ${stats.from} and ${stats.to} yet.`, { lead: "Nothing to show." });
    } else if (!quiet) {
      say(statsFeedback, "ok", `${picks(stats.total.count)} between ${stats.from} and ${stats.to}.`);
    }
    return stats;
  } catch (error) {
    if (mine !== sequence) return null;
    if (!quiet) {
      latest = null;
      statsBody.hidden = true;
      const { text, items } = explain(error, "The statistics could not be loaded.");
      say(statsFeedback, "error", text, { lead: "Error.", items });
    }
    return null;
  } finally {
    if (mine === sequence) statsSection.removeAttribute("aria-busy");
  }
}

async function refreshUntilIncluded(submission, before) {
  const { date, number: picked } = submission;
  if (fromInput.value > date || toInput.value < date || !isDay(fromInput.value) || !isDay(toInput.value)) {
    setRange(addDays(date, 1 - DEFAULT_RANGE_DAYS), date);
  }
  const baseline = before?.[date]?.[String(picked)] ?? 0;
  say(statsFeedback, "info", "Updating the statistics with your pick…");
  for (const delay of POLL_DELAYS_MS) {
    await wait(delay);
    const stats = await loadStats({ quiet: true });
    const day = stats?.days.find((d) => d.date === date);
    if (day && day.histogram[String(picked)] > baseline) {
      say(statsFeedback, "ok", `Updated: ${picks(stats.total.count)} between ${stats.from} and ${stats.to}, yours included.`);
      return;
    }
  }
  say(statsFeedback, "info", "Your pick is saved; the statistics will include it shortly. Press Show to refresh.");
}

// ---- wiring -----------------------------------------------------------------
pickForm.addEventListener("submit", submitPick);
rangeForm.addEventListener("submit", (event) => {
  event.preventDefault();
  loadStats();
});
$("show-tables").addEventListener("change", (event) => {
  for (const id of ["hist-data", "days-data"]) $(id).classList.toggle("sr-only", !event.target.checked);
});
let frame = 0;
new ResizeObserver(() => {
  cancelAnimationFrame(frame);
  frame = requestAnimationFrame(draw);
}).observe($("hist-chart"));

const today = isoDay(new Date());
setRange(addDays(today, 1 - DEFAULT_RANGE_DAYS), today);
loadStats();
