// The EHR launch: fhirclient reads iss and launch from this page's URL, discovers the
// authorization server (.well-known/smart-configuration), and redirects with PKCE (S256).
// The service has already refused an iss that is not on its allowlist.
"use strict";
(async function () {
  const status = document.getElementById("status");
  try {
    const config = await (await fetch("config.json", { credentials: "same-origin" })).json();
    await FHIR.oauth2.authorize({
      clientId: config.clientId,
      scope: config.scope,
      redirectUri: "./",
      pkceMode: "required",
    });
  } catch (error) {
    status.textContent = "The launch failed: " + (error && error.message ? error.message : error);
    status.className = "error";
  }
})();
