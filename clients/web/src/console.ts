// The supervisor console on the dashboard: enrolment codes (with a QR code of the kiosk URL), enrolled devices with
// one-click removal, and accounts (add, reset password, remove). Shown only when the API says the person is a
// supervisor.
import qrcode from "qrcode-generator";
import { ApiError, me, createAccount, createEnrolment, listAccounts, listDevices, removeAccount, resetPassword, revokeDevice } from "./api";
import type { AccountView, DeviceView } from "./protocol";
import { explain, type TokenSource } from "./signaling";
import { $, el, time } from "./ui";

const section = $("#console");
const error = $("#console-error");
const kioskSelect = $<HTMLSelectElement>("#enrol-kiosk");
const enrolmentForm = $<HTMLFormElement>("#enrolment-form");
const enrolment = $("#enrolment");
const deviceRows = $("#devices tbody");
const accountRows = $("#accounts tbody");
const accountForm = $<HTMLFormElement>("#account-form");
const accountResult = $("#account-result");

let tokens: TokenSource | undefined;

/** Shows the console when the signed-in person is a supervisor (whichever way they signed in), hides it otherwise. */
export async function startConsole(source: TokenSource): Promise<void> {
  tokens = source;
  section.hidden = true;
  if ((await me(await token())).role !== "supervisor") return;
  await refresh();
  section.hidden = false;
}

export function stopConsole(): void {
  tokens = undefined;
  section.hidden = true;
}

async function token(): Promise<string> {
  if (!tokens) throw new ApiError(401, "unauthorized", "Not signed in.");
  return tokens(false);
}

/** Runs a console action, showing a refusal in plain words instead of failing silently. */
async function act(work: () => Promise<void>): Promise<void> {
  error.textContent = "";
  try {
    await work();
  } catch (e) {
    error.textContent = e instanceof ApiError ? explain(e.code, e.message) : (e as Error).message;
  }
}

async function refresh(): Promise<void> {
  const [devices, accounts] = await Promise.all([listDevices(await token()), listAccounts(await token())]);
  renderDevices(devices);
  renderAccounts(accounts);
}

enrolmentForm.addEventListener("submit", (event) => {
  event.preventDefault();
  void act(async () => {
    const made = await createEnrolment(await token(), kioskSelect.value);
    $("#enrolment-kiosk").textContent = made.kioskId;
    $("#enrolment-code").textContent = made.code;
    const link = $<HTMLAnchorElement>("#enrolment-url");
    link.href = made.url;
    link.textContent = made.url;
    $("#enrolment-expires").textContent = new Date(made.expiresAt).toLocaleString();
    $("#enrolment-qr").replaceChildren(qrSvg(made.url));
    $("#enrolment-qr").dataset.url = made.url;
    enrolment.hidden = false;
  });
});

accountForm.addEventListener("submit", (event) => {
  event.preventDefault();
  const data = new FormData(accountForm);
  void act(async () => {
    const created = await createAccount(await token(), String(data.get("id")).trim(), String(data.get("role")), String(data.get("password") ?? ""));
    accountResult.textContent = created.password
      ? `Created ${created.id} (${created.role}). Its password, shown only now: ${created.password}`
      : `Created ${created.id} (${created.role}).`;
    accountForm.reset();
    await refresh();
  });
});

function renderDevices(devices: DeviceView[]): void {
  deviceRows.replaceChildren(...devices.map((d) => {
    const remove = el("button", { type: "button", textContent: "Remove" });
    remove.setAttribute("aria-label", `Remove device ${d.name ?? d.deviceId} of ${d.kioskId}`);
    remove.addEventListener("click", () => void act(async () => {
      await revokeDevice(await token(), d.deviceId);
      await refresh();
    }));
    return el("tr", { dataset: { device: d.deviceId, kiosk: d.kioskId } },
      el("th", { scope: "row", textContent: d.kioskId }),
      el("td", { textContent: d.name ?? "–" }),
      el("td", { textContent: `${new Date(d.enrolledAt).toLocaleString()} by ${d.enrolledBy}` }),
      el("td", { textContent: d.lastSeen ? `${new Date(d.lastSeen).toLocaleDateString()} ${time(d.lastSeen)}` : "never" }),
      el("td", { textContent: browserOf(d.userAgent), title: d.userAgent ?? "" }),
      el("td", {}, remove));
  }));
  $("#devices-empty").hidden = devices.length > 0;
}

function renderAccounts(accounts: AccountView[]): void {
  const kiosks = accounts.filter((a) => a.role === "kiosk").map((a) => a.id);
  const selected = kioskSelect.value;
  kioskSelect.replaceChildren(...kiosks.map((id) => el("option", { value: id, textContent: id, selected: id === selected })));
  enrolmentForm.querySelector("button")!.disabled = kiosks.length === 0;
  accountRows.replaceChildren(...accounts.map((a) => {
    const actions = el("td", {});
    if (a.source === "local") {
      const reset = el("button", { type: "button", textContent: "Reset password" });
      reset.setAttribute("aria-label", `Reset the password of ${a.id}`);
      reset.addEventListener("click", () => void act(async () => {
        const done = await resetPassword(await token(), a.id);
        accountResult.textContent = `New password of ${a.id}, shown only now: ${done.password}. Its earlier sign-ins have ended.`;
      }));
      actions.append(reset);
    }
    const remove = el("button", { type: "button", textContent: "Remove" });
    remove.setAttribute("aria-label", `Remove account ${a.id}`);
    remove.addEventListener("click", () => void act(async () => {
      await removeAccount(await token(), a.id);
      accountResult.textContent = `Removed ${a.id}.`;
      await refresh();
    }));
    actions.append(" ", remove);
    return el("tr", { dataset: { account: a.id } },
      el("th", { scope: "row", textContent: a.id }),
      el("td", { textContent: a.role }),
      el("td", { textContent: a.source === "entra" ? "Microsoft" : a.locked ? "password (locked for now)" : "password" }),
      actions);
  }));
}

/** A short browser name from a user agent, for the device table (the full string is its tooltip). */
function browserOf(userAgent?: string): string {
  if (!userAgent) return "–";
  const match = /(Edg|Chrome|Firefox|Safari)\/(\d+)/.exec(userAgent);
  const os = /Windows|Android|iPhone|Mac OS X|Linux|CrOS/.exec(userAgent)?.[0];
  return match ? `${match[1] === "Edg" ? "Edge" : match[1]} ${match[2]}${os ? ` on ${os}` : ""}` : userAgent.slice(0, 40);
}

/** The QR code of a URL as an SVG drawn from the encoder's modules (no inline script or style: the page's CSP stays strict). */
function qrSvg(url: string): SVGSVGElement {
  const qr = qrcode(0, "M");
  qr.addData(url);
  qr.make();
  const count = qr.getModuleCount();
  const quiet = 4;
  const size = count + quiet * 2;
  const ns = "http://www.w3.org/2000/svg";
  const svg = document.createElementNS(ns, "svg");
  svg.setAttribute("viewBox", `0 0 ${size} ${size}`);
  svg.setAttribute("role", "img");
  svg.setAttribute("aria-label", `QR code of ${url}`);
  const background = document.createElementNS(ns, "rect");
  background.setAttribute("width", String(size));
  background.setAttribute("height", String(size));
  background.setAttribute("fill", "#fff");
  let d = "";
  for (let row = 0; row < count; row++) {
    for (let col = 0; col < count; col++) {
      if (qr.isDark(row, col)) d += `M${col + quiet},${row + quiet}h1v1h-1z`;
    }
  }
  const modules = document.createElementNS(ns, "path");
  modules.setAttribute("d", d);
  modules.setAttribute("fill", "#000");
  svg.append(background, modules);
  return svg;
}
