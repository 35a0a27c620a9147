// Bundles the kiosk and monitor pages into clients/web/dist (served by the local host).
// Run by the LocalHost build, by run.sh and test.sh, or by hand: npm run build:web
import { build } from "esbuild";
import { cp, mkdir, readFile, rm, writeFile } from "node:fs/promises";
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

// The Static Web App sends the pages' Content-Security-Policy: only this site's scripts and styles, and connections
// only to the API and Web PubSub (and Entra ID) that config.json (written by azd's prepackage hook) names.
const origin = (url) => { try { return new URL(url).origin; } catch { return undefined; } };
const config = JSON.parse(await readFile(join(dist, "config.json"), "utf8").catch(() => "{}"));
const pubsub = origin(config.webPubSubEndpoint);
const entra = origin(config.entra?.authority);
const connect = [origin(config.apiBaseUrl), pubsub, pubsub?.replace(/^http/, "ws"), entra].filter(Boolean);
const { policy } = JSON.parse(await readFile(join(here, "csp.json"), "utf8"));
const swa = JSON.parse(await readFile(join(dist, "staticwebapp.config.json"), "utf8"));
const pagePolicy = (ancestors) => policy.replace("{connect}", [...new Set(connect)].join(" "))
  .replace("{frame}", entra ? `${entra} 'self'` : "'none'").replace("{ancestors}", ancestors).replace(/ ;/g, ";");
swa.globalHeaders["Content-Security-Policy"] = pagePolicy("'none'");
// MSAL's hidden renewal frame comes back to auth-redirect.html: only that page may be framed, and only by this site.
// (A route's header replaces the global header of the same name.)
swa.routes = [{ route: "/auth-redirect.html", headers: { "Content-Security-Policy": pagePolicy("'self'") } }, ...swa.routes];
await writeFile(join(dist, "staticwebapp.config.json"), JSON.stringify(swa, null, 2) + "\n");
console.log(`web client built into ${dist}`);
