"""The admin console's look: Portcullis's colours and title, as a theme of django-admin-interface.

The theme is a row of that app's ``Theme`` table. ``ensure_console_theme`` runs after every
``migrate`` (and after a test flushes the tables): it creates the Portcullis theme and makes it the
active one the first time only, so a tenant admin's later changes under *Themes* are kept.
Related-object pop-ups stay windows, not frames: the console cannot be framed, even by itself.
"""

THEME_NAME = "Portcullis"

PORTCULLIS_THEME = {
    "title": "Portcullis console",
    "title_visible": True,
    "logo_visible": False,
    "env_visible_in_header": False,
    "env_visible_in_favicon": False,
    "related_modal_active": False,
    "language_chooser_active": False,
    "recent_actions_visible": False,
    "list_filter_dropdown": True,
    "list_filter_highlight": True,
    "list_filter_removal_links": True,
    "foldable_apps": True,
    "form_submit_sticky": False,  # the save buttons sit below the form, never over a field
    "css_header_background_color": "#1b2a4e",
    "css_header_text_color": "#dbe4ff",
    "title_color": "#ffffff",
    "css_header_link_color": "#ffffff",
    "css_header_link_hover_color": "#b9ccff",
    "css_module_background_color": "#2451c6",
    "css_module_background_selected_color": "#e8eeff",
    "css_module_text_color": "#ffffff",
    "css_module_link_color": "#ffffff",
    "css_module_link_selected_color": "#ffffff",
    "css_module_link_hover_color": "#dbe4ff",
    "css_generic_link_color": "#1d43a8",
    "css_generic_link_hover_color": "#2451c6",
    "css_generic_link_active_color": "#5b8cff",
    "css_save_button_background_color": "#2451c6",
    "css_save_button_background_hover_color": "#1b2a4e",
    "css_save_button_text_color": "#ffffff",
    "css_delete_button_background_color": "#b42318",
    "css_delete_button_background_hover_color": "#912018",
    "css_delete_button_text_color": "#ffffff",
}


def ensure_console_theme(sender=None, apps=None, using="default", **kwargs):
    if apps is None:
        from django.apps import apps
    try:
        Theme = apps.get_model("admin_interface", "Theme")
    except LookupError:  # migrated backwards, past the theme's table
        return
    fields = {f.name for f in Theme._meta.get_fields()}
    values = {name: value for name, value in PORTCULLIS_THEME.items() if name in fields}
    themes = Theme.objects.using(using)
    if themes.filter(name=THEME_NAME).exists():
        return
    themes.filter(active=True).update(active=False)
    themes.create(name=THEME_NAME, active=True, **values)
