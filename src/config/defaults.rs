//! The default bypass list: services gatewatch never decrypts.
//!
//! This is a safeguarding choice, not a technical one. A pupil looking for help must be able
//! to reach it without that search being read by anyone at school: help lines (Childline,
//! Samaritans, Papyrus, Shout, Mind, Brook), the NHS and health services, and banks (whose
//! apps pin their certificates and whose content gatewatch has no business reading). A school
//! can add hosts in `[bypass] hosts` and can switch this list off with
//! `[bypass] use_default_list = false`, which we advise against.

/// Host names spliced by default. Each entry also covers its subdomains.
pub const DEFAULT_BYPASS_HOSTS: &[&str] = &[
    // Help lines and support services for children and young people.
    "childline.org.uk",
    "nspcc.org.uk",
    "samaritans.org",
    "papyrus-uk.org",
    "giveusashout.org",
    "mind.org.uk",
    "youngminds.org.uk",
    "themix.org.uk",
    "kooth.com",
    "brook.org.uk",
    "refuge.org.uk",
    "nationaldahelpline.org.uk",
    "victimsupport.org.uk",
    "stophateuk.org",
    "ceop.police.uk",
    "report-harmful-content.com",
    "iwf.org.uk",
    "talktofrank.com",
    "beateatingdisorders.org.uk",
    "selfharm.co.uk",
    // Health.
    "nhs.uk",
    "nhs.net",
    "111.nhs.uk",
    "gov.wales",
    // Banking and payments (pinned apps; no reason to read them).
    "barclays.co.uk",
    "hsbc.co.uk",
    "lloydsbank.co.uk",
    "natwest.com",
    "santander.co.uk",
    "nationwide.co.uk",
    "halifax.co.uk",
    "monzo.com",
    "starlingbank.com",
    "revolut.com",
    "paypal.com",
    // Operating system trust and update services that break under interception.
    "apple.com",
    "icloud.com",
    "mzstatic.com",
    "windowsupdate.com",
    "update.microsoft.com",
];
