// The app: connect (SMART launch, or in development the open link), show both legs, ask the
// questions, write the QuestionnaireResponse. It never calls the CDS hook itself (hook calls need
// the EHR's signed JWT): after saving it asks the clinician to reopen the chart.
// Tokens stay where fhirclient keeps them, in sessionStorage; none is ever put in a URL.
"use strict";
(function () {
  const $ = (id) => document.getElementById(id);
  const MAX_PAGES = 10;

  function fail(message) {
    const box = $("error");
    box.textContent = message;
    box.hidden = false;
  }

  async function connect(config) {
    const params = new URLSearchParams(window.location.search);
    const server = params.get("fhirServer");
    if (server) {  // the development link: an open FHIR server, no token (the service checked the allowlist)
      if (!config.openLink) throw new Error("the open development link is off");
      return FHIR.client({ serverUrl: server, tokenResponse: { patient: params.get("patient") } });
    }
    return FHIR.oauth2.ready();  // the SMART redirect: code exchange with the PKCE verifier kept in sessionStorage
  }

  function showContext(client) {
    const raw = client.state && client.state.tokenResponse && client.state.tokenResponse.appContext;
    if (!raw) return;
    try {
      const context = typeof raw === "string" ? JSON.parse(raw) : raw;
      const cards = Array.isArray(context.cards) ? context.cards : [];
      if (cards.length) {
        $("context").textContent = "Opened from the cards: " + cards.map((c) => c.summary || c.topic).join("; ");
        $("context").hidden = false;
      }
    } catch (error) {
      // an appContext this app did not write is ignored
    }
  }

  function item(f) {
    const li = document.createElement("li");
    const date = document.createElement("span");
    date.className = "finding-date";
    date.textContent = (f.date || "undated") + " ";
    li.appendChild(date);
    let text = f.label;
    if (f.value !== null) text += ": " + f.value.toFixed(2);
    if (f.absent) text += " (recorded as absent)";
    li.appendChild(document.createTextNode(text + " (" + f.resourceType + ")"));
    return li;
  }

  function leg(side, findings, config) {
    const box = document.createElement("div");
    box.className = "leg";
    box.setAttribute("data-side", side);
    const title = document.createElement("h3");
    title.textContent = side === "right" ? "Right leg" : "Left leg";
    box.appendChild(title);
    const abi = findings.filter((f) => f.sign === config.abiSign && f.value !== null);
    box.appendChild(AbiPlot.draw(abi, (side === "right" ? "Right" : "Left") + " leg ABI over time"));
    const list = document.createElement("ul");
    for (const f of findings) list.appendChild(item(f));
    if (!findings.length) {
      const none = document.createElement("li");
      none.textContent = "No findings on this side.";
      list.appendChild(none);
    }
    box.appendChild(list);
    return box;
  }

  async function showLegs(client, config) {
    const patient = client.patient.id;
    const options = { pageLimit: MAX_PAGES, flat: true };
    const [observations, conditions] = await Promise.all([
      client.request("Observation?patient=" + encodeURIComponent(patient) + "&_count=100", options),
      client.request("Condition?patient=" + encodeURIComponent(patient) + "&_count=100", options),
    ]);
    const legs = LegSides.split([...observations, ...conditions], config);
    const holder = $("legs");
    holder.replaceChildren(leg("left", legs.left, config), leg("right", legs.right, config));  // the Questionnaire asks left first
    if (legs.none.length) {
      const box = document.createElement("div");
      box.className = "leg";
      const title = document.createElement("h3");
      title.textContent = "Side not recorded";
      const list = document.createElement("ul");
      for (const f of legs.none) list.appendChild(item(f));
      box.append(title, list);
      $("unsided").replaceChildren(box);
    }
  }

  async function showPatient(client) {
    const patient = await client.patient.read();
    const name = (patient.name || [])[0] || {};
    const shown = [(name.given || []).join(" "), name.family].filter(Boolean).join(" ") || "Patient";
    $("patient").textContent = shown + (patient.birthDate ? ", born " + patient.birthDate : "");
  }

  async function showQuestions(client, config) {
    const answer = await fetch(config.questionnaire, { headers: { Accept: "application/fhir+json" } });
    if (!answer.ok) throw new Error("the questions could not be loaded (" + answer.status + ")");
    const questionnaire = await answer.json();
    $("questions-title").textContent = questionnaire.title || "The questions";
    const form = $("questionnaire");
    const state = QuestionnaireForm.render(questionnaire, form);
    const submit = document.createElement("button");
    submit.type = "submit";
    submit.textContent = "Save the answers to the record";
    form.appendChild(submit);
    form.addEventListener("submit", async (event) => {
      event.preventDefault();
      const missing = QuestionnaireForm.missing(state);
      if (missing.length) {
        fail("Please answer the marked questions (" + missing.length + ").");
        return;
      }
      $("error").hidden = true;
      submit.disabled = true;
      try {
        const saved = await client.create(QuestionnaireForm.response(state, client.patient.id));
        for (const input of form.querySelectorAll("input, textarea, button")) input.disabled = true;
        const note = $("saved");
        note.textContent = "Saved to the record as QuestionnaireResponse/" + saved.id + ". Reopen the patient's chart "
          + "(or refresh the cards, where the EHR offers it): the cards will read these answers.";
        note.setAttribute("data-response-id", saved.id);
        note.hidden = false;
      } catch (error) {
        submit.disabled = false;
        fail("The answers could not be saved: " + error.message);
      }
    });
  }

  async function main() {
    try {
      const config = await (await fetch("config.json", { credentials: "same-origin" })).json();
      const client = await connect(config);
      showContext(client);
      await Promise.all([showPatient(client), showLegs(client, config), showQuestions(client, config)]);
      document.body.setAttribute("data-ready", "true");
    } catch (error) {
      fail("The app could not start: " + (error && error.message ? error.message : error));
    }
  }

  main();
})();
