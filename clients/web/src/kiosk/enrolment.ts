// An enrolled kiosk signs in by itself, for ever: enrolment with a supervisor's code (typed, or from the URL), then
// sign-in with the device key on every load, retrying with backoff and jitter while RailCloud cannot be reached.
import { ApiError, type RenewingSignIn } from "../api";
import { DeviceSignIn, enrol, forgetDevice, storedDevice } from "../device";
import { explain } from "../signaling";
import { $, addToTimeline, setStatus } from "../ui";
import { kiosk, page } from "./state";

type Device = NonNullable<Awaited<ReturnType<typeof storedDevice>>>;

/** Wires enrolment, and signs in with a stored key (or enrols with a code in the address) at once. */
export async function setUpDevice(connect: (signIn: RenewingSignIn) => Promise<void>): Promise<void> {
  page.enrolForm.addEventListener("submit", (event) => {
    event.preventDefault();
    const data = new FormData(page.enrolForm);
    void enrolAndConnect(String(data.get("code")), String(data.get("name") ?? "").trim() || undefined, connect);
  });
  const code = new URLSearchParams(location.search).get("enrol");
  // The code works once: a reload must not try it again, and it should not linger in the address bar.
  if (code) history.replaceState(null, "", location.pathname);
  const device = await storedDevice().catch(() => undefined);
  if (device) {
    await signInAsDevice(device, connect);
  } else if (code) {
    $<HTMLInputElement>("#enrol-code").value = code;
    await enrolAndConnect(code, undefined, connect);
  }
}

async function enrolAndConnect(code: string, name: string | undefined, connect: (signIn: RenewingSignIn) => Promise<void>): Promise<void> {
  page.enrolError.textContent = "";
  try {
    setStatus(page.status, "Enrolling…", "connecting");
    const device = await enrol(code, name);
    addToTimeline(page.timeline, `Enrolled as a device of ${device.kioskId}; it will sign in by itself from now on`);
    page.signInForm.hidden = true;
    await signInAsDevice(device, connect);
  } catch (e) {
    setStatus(page.status, "Signed out", "offline");
    page.enrolError.textContent = e instanceof ApiError ? explain(e.code, e.message) : `Could not enrol: ${(e as Error).message}`;
  }
}

/** Signs in with the stored key, retrying with backoff while RailCloud cannot be reached: nobody is there to press a button. */
async function signInAsDevice(device: Device, connect: (signIn: RenewingSignIn) => Promise<void>): Promise<void> {
  page.enrolForm.hidden = true;
  page.signInForm.hidden = true;
  for (let attempt = 0; ; attempt++) {
    setStatus(page.status, "Signing in…", "connecting");
    try {
      await connect(await DeviceSignIn.start(device));
      return;
    } catch (e) {
      kiosk.signaling?.stop();
      kiosk.signaling = undefined;
      if (e instanceof ApiError && (e.code === "device-revoked" || e.code === "device-unknown")) {
        await deviceRemoved(explain(e.code, e.message));
        return;
      }
      // Backoff with jitter: a depot's kiosks that lost power together do not all retry in the same second.
      const wait = Math.round(Math.min(30, 2 ** Math.min(attempt, 5)) * (1 + Math.random() / 2));
      setStatus(page.status, "Offline – retrying sign-in…", "offline");
      addToTimeline(page.timeline, `Sign-in failed (${e instanceof ApiError ? explain(e.code, e.message) : (e as Error).message}); retrying in ${wait} s`, "error");
      await new Promise((resolve) => window.setTimeout(resolve, wait * 1000));
    }
  }
}

/** The device was revoked (or its record is gone): forget the key and offer enrolment again. */
export async function deviceRemoved(message: string): Promise<void> {
  await forgetDevice().catch(() => undefined);
  setStatus(page.status, "Device removed", "offline");
  page.enrolError.textContent = message;
  page.enrolForm.hidden = false;
  page.signInForm.hidden = false;
  addToTimeline(page.timeline, message, "error");
}
