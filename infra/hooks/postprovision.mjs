// azd postprovision hook:
// 1. Registers the static site's auth-redirect.html as a single-page-app redirect URI of the API's app
//    registration, through Microsoft Graph (the Azure CLI has no flag for SPA redirect URIs). MSAL's sign-in popup
//    comes back there. Other redirect URIs already registered are kept.
// 2. Asks App Service to re-read the app's Key Vault references now, so a secret changed by this provisioning
//    (a rotation) is live at once instead of within 24 hours.
import { azRest, env, fail } from "./lib.mjs";

const clientId = env("RAILCLOUD_API_CLIENT_ID");
const webUrl = env("RAILCLOUD_WEB_URL", { hint: "It is an output of provisioning; did azd provision finish?" });
const redirect = `${webUrl.replace(/\/+$/, "")}/auth-redirect.html`;
const application = `https://graph.microsoft.com/v1.0/applications(appId='${clientId}')`;

const current = azRest("GET", `${application}?$select=spa`);
if (current.code !== 0) {
  fail(`Could not read the app registration ${clientId} from Microsoft Graph:\n${current.stderr}\n`
    + `Microsoft sign-in needs ${redirect} as a single-page-app redirect URI. Add it in the Entra admin center `
    + `(App registrations → RailCloud API → Authentication → Single-page application), or rerun azd provision `
    + `signed in as an owner of the app registration.`);
}
const uris = JSON.parse(current.stdout || "{}").spa?.redirectUris ?? [];
if (uris.includes(redirect)) {
  console.log(`SPA redirect URI already registered: ${redirect}`);
} else {
  const patch = azRest("PATCH", application, { spa: { redirectUris: [...uris, redirect] } });
  if (patch.code !== 0) {
    fail(`Could not add the SPA redirect URI ${redirect} to the app registration ${clientId}:\n${patch.stderr}\n`
      + `Add it by hand in the Entra admin center (App registrations → RailCloud API → Authentication → Single-page application).`);
  }
  console.log(`SPA redirect URI registered: ${redirect}`);
}

const subscription = env("AZURE_SUBSCRIPTION_ID");
const group = env("AZURE_RESOURCE_GROUP");
const app = env("AZURE_FUNCTION_APP_NAME");
const refresh = azRest("POST", `https://management.azure.com/subscriptions/${subscription}/resourceGroups/${group}/providers/Microsoft.Web/sites/${app}/config/configreferences/appsettings/refresh?api-version=2022-03-01`);
if (refresh.code !== 0) {
  // Not fatal: the references resolve on the platform's own schedule (within 24 hours) or at the next settings change.
  console.warn(`Could not ask ${app} to re-read its Key Vault references (${refresh.stderr.trim()}); a changed secret goes live within 24 hours.`);
} else {
  console.log(`${app} re-reads its Key Vault references.`);
}
