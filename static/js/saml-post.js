// Sends the SAML message on to the identity provider as soon as the page loads. Served from our
// own origin: the page's CSP allows no inline script; without script, the button does it.
document.addEventListener("DOMContentLoaded", function () {
  var form = document.querySelector("form[data-autosubmit]");
  if (form) form.submit();
});
