// Bundles the kiosk and monitor pages into clients/web/dist (served by the local host).
// Run by the LocalHost build, by run.sh and test.sh, or by hand: npm run build:web
import { build } from "esbuild";
import { cp, mkdir, rm } from "node:fs/promises";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

const here = dirname(fileURLToPath(import.meta.url));
const dist = join(here, "dist");
await rm(dist, { recursive: true, force: true });
await mkdir(dist, { recursive: true });
await build({
  entryPoints: {
    kiosk: join(here, "src/kiosk.ts"),
    monitor: join(here, "src/monitor.ts"),
    "auth-redirect": join(here, "src/auth-redirect.ts"),
  },
  bundle: true,
  format: "esm",
  splitting: true, // MSAL loads only when Entra sign-in is configured
  chunkNames: "chunks/[name]-[hash]",
  platform: "browser",
  target: ["es2022"],
  outdir: dist,
  sourcemap: true,
  minify: true,
  logLevel: "warning",
});
await cp(join(here, "static"), dist, { recursive: true });
console.log(`web client built into ${dist}`);
