// Crew sign-on and sign-off at the kiosk: sent in order, shown as queued until RailCloud has them (kept across a
// reload), and refusals said in plain words. Who is on duty comes from RailCloud when the kiosk registers.
import type { CrewOnDuty, ErrorMessage } from "../protocol";
import { explain } from "../signaling";
import { $, addToTimeline, setStatus } from "../ui";
import { kiosk, page } from "./state";

const crewForm = $<HTMLFormElement>("#crew");
const crewList = $("#crew-list");

const onDuty = new Map<string, string | undefined>();
/** Crew sign-ons and sign-offs not yet acknowledged by RailCloud: shown as queued, sent when it is back, kept across a reload. */
type CrewRequest = { event: "crew-sign-on" | "crew-sign-off"; crewId: string; name?: string };
let queue: CrewRequest[] = [];
let flushing = false;
/** The backend's refusal of the crew event in flight (it arrives before the event's ack). */
let refusal: ErrorMessage | undefined;

export const queued = () => queue.length;

/** Signed in as a kiosk: its own queue from before a reload. */
export function loadQueue(): void {
  queue = read();
  render();
}

/** Who is on duty here, as RailCloud says when the kiosk registers. */
export function setOnDuty(crew: CrewOnDuty[]): void {
  onDuty.clear();
  for (const member of crew) onDuty.set(member.crewId, member.name ?? undefined);
  render();
}

/** The refusal of the crew event in flight. */
export function refused(message: ErrorMessage): void {
  refusal = message;
}

crewForm.addEventListener("submit", (event) => {
  event.preventDefault();
  const submitter = (event as SubmitEvent).submitter as HTMLButtonElement | null;
  const data = new FormData(crewForm);
  const crewId = String(data.get("crewId")).trim();
  const name = String(data.get("name") ?? "").trim();
  if (!crewId) return;
  if (!kiosk.signaling) {
    addToTimeline(page.timeline, "Sign in first: crew sign-on and sign-off need the kiosk to be signed in.", "error");
    return;
  }
  const signOn = submitter?.value !== "off";
  const queuedOn = queue.some((r) => r.crewId === crewId && r.event === "crew-sign-on");
  if (!signOn && !onDuty.has(crewId) && !queuedOn) {
    addToTimeline(page.timeline, `Crew ${crewId} is not signed on here`, "error");
    return;
  }
  queue.push(signOn ? { event: "crew-sign-on", crewId, name: name || undefined } : { event: "crew-sign-off", crewId });
  save();
  render();
  crewForm.reset();
  void flushCrew();
});

/** Sends the queued crew events in order; one that cannot be delivered stays queued (and visible) until RailCloud is back. */
export async function flushCrew(): Promise<void> {
  if (flushing || !kiosk.registered) return;
  flushing = true;
  try {
    while (queue.length > 0 && kiosk.signaling && kiosk.registered) {
      const request = queue[0];
      const who = request.name ? `${request.crewId} (${request.name})` : request.crewId;
      refusal = undefined;
      try {
        if (request.event === "crew-sign-on") await kiosk.signaling.send("crew-sign-on", { crewId: request.crewId, name: request.name });
        else await kiosk.signaling.send("crew-sign-off", { crewId: request.crewId });
      } catch {
        addToTimeline(page.timeline, `Crew ${who}: not recorded yet, RailCloud can't be reached. It stays queued and is sent when RailCloud is back.`, "error");
        setStatus(page.status, kiosk.session ? "Can't reach RailCloud; video continues" : "Can't reach RailCloud; retrying", "degraded");
        return;
      }
      queue.shift();
      save();
      const refused = refusal as ErrorMessage | undefined;
      if (refused?.code === "rate-limited") {
        // A long queue sent at once goes past the allowance (a burst of 40, then 20 a second): wait for it, keep the order.
        queue.unshift(request);
        save();
        await new Promise((resolve) => setTimeout(resolve, 1000));
        continue;
      }
      if (refused?.code === "unavailable") {
        // Storage was down: the backend recorded nothing. Keep it (first in line) for the next try.
        queue.unshift(request);
        save();
        render();
        return;
      }
      if (refused) {
        addToTimeline(page.timeline, `Crew ${who}: ${explain(refused.code, refused.message)}`, "error");
      } else {
        if (request.event === "crew-sign-on") onDuty.set(request.crewId, request.name); else onDuty.delete(request.crewId);
        addToTimeline(page.timeline, request.event === "crew-sign-on" ? `Crew ${who} signed on` : `Crew ${request.crewId} signed off`);
      }
      render();
    }
  } finally {
    flushing = false;
  }
}

function key(): string { return `railcloud.kiosk.${kiosk.id}.crew-queue`; }

function read(): CrewRequest[] {
  try {
    const stored: unknown = JSON.parse(localStorage.getItem(key()) ?? "[]");
    return Array.isArray(stored)
      ? stored.filter((r): r is CrewRequest => !!r && typeof r.crewId === "string" && (r.event === "crew-sign-on" || r.event === "crew-sign-off"))
      : [];
  } catch {
    return [];
  }
}

function save(): void {
  try {
    if (queue.length > 0) localStorage.setItem(key(), JSON.stringify(queue));
    else localStorage.removeItem(key());
  } catch { /* storage full or denied: the queue still lives in this page */ }
}

function render(): void {
  const items = [...onDuty].map(([id, name]) => {
    const item = document.createElement("li");
    item.textContent = name ? `${id} – ${name}` : id;
    return item;
  });
  for (const request of queue) {
    const item = document.createElement("li");
    item.className = "queued";
    const who = request.name ? `${request.crewId} – ${request.name}` : request.crewId;
    item.textContent = `${who}: sign-${request.event === "crew-sign-on" ? "on" : "off"} queued, not yet recorded`;
    items.push(item);
  }
  crewList.replaceChildren(...items);
  $("#crew-empty").hidden = items.length > 0;
}
