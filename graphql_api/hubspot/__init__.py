"""HubSpot in the API: connecting (through the ``OAuthStarter`` port), the CRM contacts and their links to
website accounts, and the website form's HubSpot form."""
