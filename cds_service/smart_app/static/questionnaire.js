// A small FHIR R4 Questionnaire renderer driven only by the resource: group, display, boolean,
// choice (answerOption valueCoding / valueString / valueInteger), string, text, integer, decimal
// and date items; enableWhen (exists, =, !=) with enableBehavior; required items checked when
// enabled. Top-level groups are laid out side by side (the legs). The answers become a
// QuestionnaireResponse holding only enabled, answered items.
"use strict";
window.QuestionnaireForm = (function () {
  let counter = 0;

  function node(tag, attributes, text) {
    const element = document.createElement(tag);
    for (const [key, value] of Object.entries(attributes || {})) element.setAttribute(key, String(value));
    if (text !== undefined) element.textContent = text;
    return element;
  }

  function optionValue(option) {
    if (option.valueCoding) return { key: "valueCoding", value: option.valueCoding, id: option.valueCoding.code, text: option.valueCoding.display || option.valueCoding.code };
    if (option.valueString !== undefined) return { key: "valueString", value: option.valueString, id: option.valueString, text: option.valueString };
    if (option.valueInteger !== undefined) return { key: "valueInteger", value: option.valueInteger, id: String(option.valueInteger), text: String(option.valueInteger) };
    return null;
  }

  function render(questionnaire, form) {
    const state = { items: new Map(), questionnaire: questionnaire };
    const top = node("div", { class: "leg-groups" });
    for (const item of questionnaire.item || []) top.appendChild(renderItem(item, state));
    form.appendChild(top);
    for (const entry of state.items.values()) {
      for (const input of entry.inputs) input.addEventListener("change", () => refresh(state));
    }
    refresh(state);
    return state;
  }

  function renderItem(item, state) {
    if (item.type === "group") {
      const box = node("fieldset", { "data-link-id": item.linkId, class: "q-item" });
      box.appendChild(node("legend", {}, item.text || item.linkId));
      for (const child of item.item || []) box.appendChild(renderItem(child, state));
      state.items.set(item.linkId, { item: item, element: box, inputs: [], read: () => [] });
      return box;
    }
    const wrap = node("div", { class: "q-item", "data-link-id": item.linkId });
    const labelClass = "q-text" + (item.required ? " q-required" : "");
    if (item.type === "display") {
      wrap.appendChild(node("p", {}, item.text || ""));
      state.items.set(item.linkId, { item: item, element: wrap, inputs: [], read: () => [] });
      return wrap;
    }
    const name = "q" + (++counter);
    let inputs = [], read;
    if (item.type === "boolean" || item.type === "choice") {
      wrap.appendChild(node("span", { class: labelClass, id: name + "-label" }, item.text || item.linkId));
      const options = item.type === "boolean"
        ? [{ key: "valueBoolean", value: true, id: "true", text: "Yes" }, { key: "valueBoolean", value: false, id: "false", text: "No" }]
        : (item.answerOption || []).map(optionValue).filter(Boolean);
      const group = node("div", { class: "q-options", role: "radiogroup", "aria-labelledby": name + "-label" });
      for (const option of options) {
        const label = node("label");
        const input = node("input", { type: "radio", name: name, value: option.id });
        input.answer = { [option.key]: option.value };
        label.appendChild(input);
        label.appendChild(document.createTextNode(" " + option.text));
        group.appendChild(label);
        inputs.push(input);
      }
      wrap.appendChild(group);
      read = () => inputs.filter((i) => i.checked).map((i) => i.answer);
    } else {
      const types = { string: ["input", "text", "valueString"], text: ["textarea", null, "valueString"],
                      integer: ["input", "number", "valueInteger"], decimal: ["input", "number", "valueDecimal"],
                      date: ["input", "date", "valueDate"] };
      const [tag, type, key] = types[item.type] || types.string;
      const label = node("label", { class: labelClass, for: name }, item.text || item.linkId);
      const input = node(tag, type ? { id: name, type: type } : { id: name });
      if (item.type === "decimal") input.setAttribute("step", "any");
      wrap.appendChild(label);
      wrap.appendChild(input);
      inputs = [input];
      read = () => {
        const raw = input.value.trim();
        if (raw === "") return [];
        if (key === "valueInteger") return [{ valueInteger: parseInt(raw, 10) }];
        if (key === "valueDecimal") return [{ valueDecimal: parseFloat(raw) }];
        return [{ [key]: raw }];
      };
    }
    state.items.set(item.linkId, { item: item, element: wrap, inputs: inputs, read: read });
    return wrap;
  }

  function same(answer, condition) {
    const key = Object.keys(condition).find((k) => k.startsWith("answer"));
    const want = condition[key];
    const kind = key.slice("answer".length);
    const got = answer["value" + kind];
    if (got === undefined) return false;
    if (kind === "Coding") return got.code === want.code && (!want.system || got.system === want.system);
    return got === want;
  }

  function conditionHolds(condition, state) {
    const target = state.items.get(condition.question);
    const answers = target && enabled(target.item, state) ? target.read() : [];
    switch (condition.operator) {
      case "exists": return (answers.length > 0) === Boolean(condition.answerBoolean);
      case "=": return answers.some((a) => same(a, condition));
      case "!=": return answers.length > 0 && !answers.some((a) => same(a, condition));
      default: return false;  // an operator this renderer does not know never enables an item
    }
  }

  function enabled(item, state) {
    const conditions = item.enableWhen || [];
    if (conditions.length === 0) return true;
    const results = conditions.map((c) => conditionHolds(c, state));
    return item.enableBehavior === "any" ? results.some(Boolean) : results.every(Boolean);
  }

  function refresh(state) {
    for (const entry of state.items.values()) {
      const on = enabled(entry.item, state);
      entry.element.hidden = !on;
      for (const input of entry.inputs) input.disabled = !on;
    }
  }

  // The enabled required items without an answer (their elements are marked).
  function missing(state) {
    const out = [];
    for (const entry of state.items.values()) {
      entry.element.classList.remove("q-missing");
      if (entry.item.required && entry.item.type !== "group" && !entry.element.hidden && entry.read().length === 0) {
        entry.element.classList.add("q-missing");
        out.push(entry.item.linkId);
      }
    }
    return out;
  }

  function responseItems(items, state) {
    const out = [];
    for (const item of items || []) {
      const entry = state.items.get(item.linkId);
      if (!entry || !enabled(item, state)) continue;
      if (item.type === "group") {
        const children = responseItems(item.item, state);
        if (children.length) out.push({ linkId: item.linkId, text: item.text, item: children });
      } else if (item.type !== "display") {
        const answers = entry.read();
        if (answers.length) out.push({ linkId: item.linkId, text: item.text, answer: answers });
      }
    }
    return out;
  }

  function response(state, patientId) {
    const q = state.questionnaire;
    return {
      resourceType: "QuestionnaireResponse",
      questionnaire: q.version ? `${q.url}|${q.version}` : q.url,
      status: "completed",
      subject: { reference: "Patient/" + patientId },
      authored: new Date().toISOString(),
      item: responseItems(q.item, state),
    };
  }

  return { render: render, missing: missing, response: response };
})();
