// What tests, the time-to-first-frame benchmark and diagnostics read from the pages (set by monitor/tiles.ts,
// monitor/sessions.ts and kiosk.ts).
export {};

declare global {
  interface Window {
    railcloudClickedAt?: Record<string, number>;
    railcloudFirstFrameAt?: Record<string, number>;
    railcloudTiles?: () => Record<string, object>;
    railcloudKiosk?: () => object;
  }
}
