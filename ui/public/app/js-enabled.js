// GOV.UK Frontend's classes for a page with JavaScript, set before the body is drawn. A file of its
// own, not inline: the gateway's Content-Security-Policy runs scripts from the gateway only.
document.body.className += ' js-enabled' + ('noModule' in HTMLScriptElement.prototype ? ' govuk-frontend-supported' : '');
