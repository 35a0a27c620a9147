// What the kiosk page's modules share: its elements and who it is signed in as, the connection, the session.
import type { RemoteSide } from "../peer";
import type { Signaling } from "../signaling";
import { $ } from "../ui";

export const page = {
  status: $("#status"),
  viewer: $("#viewer"),
  timeline: $("#timeline"),
  signInForm: $<HTMLFormElement>("#sign-in"),
  signInError: $("#sign-in-error"),
  enrolForm: $<HTMLFormElement>("#enrol"),
  enrolError: $("#enrol-error"),
  signOut: $<HTMLButtonElement>("#sign-out"),
};

/** The session this kiosk answers for: who watches, and the peer connection that sends them the camera. */
export interface Session { sessionId: string; monitorId: string; pc: RTCPeerConnection; remote: RemoteSide }

export const kiosk = {
  id: "",
  signaling: undefined as Signaling | undefined,
  /** Registered on the current connection: crew events may be sent. */
  registered: false,
  session: undefined as Session | undefined,
};
