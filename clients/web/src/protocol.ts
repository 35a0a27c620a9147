// RailCloud's wire contract for the pages, generated from RailCloud.Protocol (TypeScriptContract.cs): do not edit.
// Regenerate with: RAILCLOUD_WRITE_PROTOCOL_TS=1 dotnet test tests/RailCloud.Protocol.Tests

/** A refusal's stable code (an error reply's code, or a problem's over HTTP). */
export type ErrorCode =
  | "unauthorized"
  | "forbidden"
  | "not-registered"
  | "unknown-kiosk"
  | "kiosk-offline"
  | "kiosk-busy"
  | "no-session"
  | "not-session-member"
  | "invalid-payload"
  | "payload-too-large"
  | "rate-limited"
  | "unavailable"
  | "not-on-duty"
  | "crew-full"
  | "enrolment-invalid"
  | "assertion-invalid"
  | "nonce-invalid"
  | "assertion-replayed"
  | "device-unknown"
  | "device-revoked"
  | "account-exists"
  | "unknown-account";

/** Why a monitoring session ended. */
export type EndReason =
  | "stopped"
  | "kiosk-disconnected"
  | "monitor-disconnected"
  | "expired"
  | "replaced"
  | "taken-over";

/** An account's role. */
export type Role =
  | "kiosk"
  | "monitor"
  | "supervisor";

/** The events a client may send. */
export type ClientEvent =
  | "register-kiosk"
  | "register-monitor"
  | "start-monitoring"
  | "stop-monitoring"
  | "offer"
  | "answer"
  | "ice-candidate"
  | "heartbeat-ping"
  | "crew-sign-on"
  | "crew-sign-off";

export interface AccountCreated {
  id: string;
  role: Role;
  password?: string;
}

export interface AccountView {
  id: string;
  role: Role;
  source: string;
  createdAt: string;
  locked: boolean;
}

export interface AnswerMessage {
  fromId: string;
  sessionId: string;
  answer: SessionDescription;
  event: "answer";
}

export interface AnswerRequest {
  targetId: string;
  answer: SessionDescription;
}

export interface AuditEntry {
  kind: string;
  at: string;
  kioskId: string;
  crewId?: string;
  name?: string;
  monitorId?: string;
  sessionId?: string;
  reason?: string;
  deviceId?: string;
  by?: string;
}

export interface AuditPage {
  items: AuditEntry[];
  continuationToken?: string;
}

export interface CallerView {
  id: string;
  role: Role;
  deviceId?: string;
}

export interface CreateAccountRequest {
  id?: string;
  role?: string;
  password?: string;
}

export interface CrewEvent {
  kioskId: string;
  crewId: string;
  name?: string;
  at: string;
  event: "crew-sign-on" | "crew-sign-off";
}

export interface CrewOnDuty {
  crewId: string;
  name?: string;
  at: string;
}

export interface CrewSignOffRequest {
  crewId: string;
}

export interface CrewSignOnRequest {
  crewId: string;
  name?: string;
}

export interface DeviceRegistrationRequest {
  code?: string;
  publicKey?: PublicJwk;
  name?: string;
}

export interface DeviceRegistrationResponse {
  deviceId: string;
  kioskId: string;
}

export interface DeviceTokenRequest {
  assertion?: string;
}

export interface DeviceView {
  deviceId: string;
  kioskId: string;
  name?: string;
  enrolledAt: string;
  enrolledBy: string;
  lastSeen?: string;
  userAgent?: string;
}

export interface EnrolmentResponse {
  code: string;
  url: string;
  expiresAt: string;
  kioskId: string;
}

export interface ErrorMessage {
  code: ErrorCode;
  message: string;
  requestEvent?: string;
  event: "error";
}

export interface HeartbeatPong {
  serverTime: string;
  event: "heartbeat-pong";
}

export type HeartbeatRequest = Record<string, never>;

export interface IceCandidateInit {
  candidate: string;
  sdpMid?: string | null;
  sdpMLineIndex?: number | null;
}

export interface IceCandidateMessage {
  fromId: string;
  sessionId: string;
  candidate: IceCandidateInit;
  event: "ice-candidate";
}

export interface IceCandidateRequest {
  targetId: string;
  candidate: IceCandidateInit;
}

export interface IceServer {
  urls: string[];
  username?: string;
  credential?: string;
}

export interface KioskOffline {
  kioskId: string;
  at: string;
  reason: string;
  event: "kiosk-offline";
}

export interface KioskOnline {
  kioskId: string;
  at: string;
  event: "kiosk-online";
}

export interface KioskView {
  kioskId: string;
  online: boolean;
  lastSeen?: string;
  monitoredBy?: string;
  crew: CrewOnDuty[];
}

export interface LoginRequest {
  id?: string;
  password?: string;
}

export interface LoginResponse {
  accessToken: string;
  expiresAt: string;
  role: Role;
  id: string;
}

export interface MonitoringEnded {
  kioskId: string;
  sessionId: string;
  reason: EndReason;
  event: "monitoring-ended";
}

export interface MonitoringStartedForKiosk {
  kioskId: string;
  sessionId: string;
  monitorId: string;
  iceServers: IceServer[];
  event: "monitoring-started";
}

export interface MonitoringStartedForMonitor {
  kioskId: string;
  sessionId: string;
  iceServers: IceServer[];
  event: "monitoring-started";
}

export interface MonitoringStopped {
  kioskId: string;
  sessionId: string;
  event: "monitoring-stopped";
}

export interface NegotiateResponse {
  url: string;
  expiresAt: string;
  iceServers: IceServer[];
}

export interface NonceResponse {
  nonce: string;
  expiresAt: string;
}

export interface OfferMessage {
  fromId: string;
  sessionId: string;
  offer: SessionDescription;
  event: "offer";
}

export interface OfferRequest {
  targetId: string;
  offer: SessionDescription;
}

export interface PasswordReset {
  id: string;
  password?: string;
}

export interface PublicJwk {
  kty?: string;
  crv?: string;
  x?: string;
  y?: string;
}

export interface RegisterRequest {
  resume?: string[];
}

export interface RegisteredKiosk {
  id: string;
  heartbeatSeconds: number;
  crew: CrewOnDuty[];
  resumed?: string[];
  ended?: string[];
  role: "kiosk";
  event: "registered";
}

export interface RegisteredMonitor {
  id: string;
  role: Role;
  kiosks: KioskView[];
  heartbeatSeconds: number;
  resumed?: string[];
  ended?: string[];
  event: "registered";
}

export interface ResetPasswordRequest {
  password?: string;
}

export interface SessionDescription {
  type: string;
  sdp: string;
}

export interface StartMonitoringRequest {
  kioskId: string;
  offer?: SessionDescription;
}

export interface StopMonitoringRequest {
  kioskId: string;
}

/** The data of each client event. */
export interface ClientEventData {
  "register-kiosk": RegisterRequest;
  "register-monitor": RegisterRequest;
  "start-monitoring": StartMonitoringRequest;
  "stop-monitoring": StopMonitoringRequest;
  "offer": OfferRequest;
  "answer": AnswerRequest;
  "ice-candidate": IceCandidateRequest;
  "heartbeat-ping": HeartbeatRequest;
  "crew-sign-on": CrewSignOnRequest;
  "crew-sign-off": CrewSignOffRequest;
}

/** Every message the backend sends a client (replies and notifications), told apart by event. */
export type ServerMessage =
  | AnswerMessage
  | CrewEvent
  | ErrorMessage
  | HeartbeatPong
  | IceCandidateMessage
  | KioskOffline
  | KioskOnline
  | MonitoringEnded
  | MonitoringStartedForKiosk
  | MonitoringStartedForMonitor
  | MonitoringStopped
  | OfferMessage
  | RegisteredKiosk
  | RegisteredMonitor;

/** The messages of one event. */
export type MessageOf<E extends ServerMessage["event"]> = Extract<ServerMessage, { event: E }>;
