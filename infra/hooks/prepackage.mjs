// azd prepackage hook: the pages call the API on another origin in Azure. Hands them its URL and the Entra ID
// settings (clients/web/static/config.json) before the web service is built.
import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { env } from "./lib.mjs";

const apiBaseUrl = env("RAILCLOUD_API_URL", { hint: "Run 'azd provision' before packaging." });
const clientId = env("RAILCLOUD_API_CLIENT_ID");
const tenant = env("AZURE_TENANT_ID");
const webPubSubEndpoint = env("RAILCLOUD_WEBPUBSUB_ENDPOINT", { hint: "Run 'azd provision' before packaging." });
const config = {
  apiBaseUrl,
  // The pages' Content-Security-Policy admits connections to these two (clients/web/build.mjs).
  webPubSubEndpoint,
  entra: {
    clientId,
    authority: `https://login.microsoftonline.com/${tenant}`,
    // The pages sign in with the API's own registration: Entra refuses an app that asks a token for itself by its
    // api:// URI (AADSTS90009), so the scope names the app by its client id.
    scope: `${clientId}/.default`,
  },
};
const folder = join(process.cwd(), "clients", "web", "static");
mkdirSync(folder, { recursive: true });
writeFileSync(join(folder, "config.json"), JSON.stringify(config) + "\n");
console.log(`Wrote clients/web/static/config.json (API ${apiBaseUrl}).`);
