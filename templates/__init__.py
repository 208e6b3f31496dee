"""Customer and finance e-mail templates (fr, en), rendered with Jinja2 when no SendGrid
dynamic template id is configured, and for previews and dry runs."""
