// Passkeys (WebAuthn): a form with data-passkey="get" (log in) or "create" (enroll) asks the browser
// for a credential with the options the server put in the page (#passkey-options, JSON made by
// py_webauthn), puts the browser's answer as JSON in the form's "credential" field and submits it.
// Served from our own origin: the pages' CSP allows no inline script.
(function () {
  function toBytes(text) {
    var base64 = text.replace(/-/g, "+").replace(/_/g, "/");
    while (base64.length % 4) base64 += "=";
    var raw = atob(base64), bytes = new Uint8Array(raw.length);
    for (var i = 0; i < raw.length; i++) bytes[i] = raw.charCodeAt(i);
    return bytes.buffer;
  }

  function toText(buffer) {
    if (!buffer) return null;
    var bytes = new Uint8Array(buffer), raw = "";
    for (var i = 0; i < bytes.length; i++) raw += String.fromCharCode(bytes[i]);
    return btoa(raw).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
  }

  function publicKey(options) {
    options.challenge = toBytes(options.challenge);
    if (options.user) options.user.id = toBytes(options.user.id);
    (options.allowCredentials || options.excludeCredentials || []).forEach(function (credential) {
      credential.id = toBytes(credential.id);
    });
    return options;
  }

  function answer(credential) {
    var response = credential.response, json = {
      id: credential.id,
      rawId: toText(credential.rawId),
      type: credential.type,
      authenticatorAttachment: credential.authenticatorAttachment || null,
      clientExtensionResults: credential.getClientExtensionResults(),
      response: { clientDataJSON: toText(response.clientDataJSON) }
    };
    if (response.attestationObject) {
      json.response.attestationObject = toText(response.attestationObject);
      json.response.transports = response.getTransports ? response.getTransports() : [];
    } else {
      json.response.authenticatorData = toText(response.authenticatorData);
      json.response.signature = toText(response.signature);
      json.response.userHandle = toText(response.userHandle);
    }
    return JSON.stringify(json);
  }

  document.addEventListener("DOMContentLoaded", function () {
    var form = document.querySelector("form[data-passkey]");
    var source = document.getElementById("passkey-options");
    if (!form || !source) return;
    var error = form.querySelector("[data-passkey-error]");
    if (!window.PublicKeyCredential) {
      if (error) { error.textContent = "This browser does not support passkeys."; error.hidden = false; }
      return;
    }
    form.addEventListener("submit", function (event) {
      if (form.elements.credential.value) return;
      event.preventDefault();
      var options = { publicKey: publicKey(JSON.parse(source.textContent)) };
      var ask = form.dataset.passkey === "create" ? navigator.credentials.create(options) : navigator.credentials.get(options);
      ask.then(function (credential) {
        form.elements.credential.value = answer(credential);
        form.submit();
      }).catch(function (reason) {
        if (error) { error.textContent = "No passkey was used (" + reason.name + "). Try again."; error.hidden = false; }
      });
    });
  });
})();
