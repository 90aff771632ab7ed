// Submits the OAuth 2.0 form post response (the first form of the page) as soon as it is loaded.
// Kept in a file rather than inline so that the page works under "script-src 'self'".
"use strict";

document.addEventListener("DOMContentLoaded", function () {
  var form = document.forms[0];
  if (form) {
    form.submit();
  }
});
