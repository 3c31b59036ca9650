//! The fifteen threat categories every library entry belongs to.
//!
//! Category ids are stable kebab-case strings (`self-harm`, `child-sexual-abuse`): they prefix
//! entry ids, appear in library files and are stored in incidents, so they never change.

use std::fmt;

use serde::{Deserialize, Serialize};

/// A threat category. Serialised as its kebab-case id, e.g. `"self-harm"`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Category {
    /// Child sexual abuse material and seeking it (illegal).
    ChildSexualAbuse,
    /// Terrorism: attack planning, instructional material, proscribed groups (illegal).
    Terrorism,
    /// Bullying: insults and threats aimed at a person.
    Bullying,
    /// Child sexual exploitation and grooming patterns.
    Grooming,
    /// Discrimination: discriminatory language in general.
    Discrimination,
    /// Hate speech aimed at a person or group.
    HateSpeech,
    /// Drugs and substance abuse.
    Drugs,
    /// Extremism and radicalisation.
    Extremism,
    /// Pornography sites and terms.
    Pornography,
    /// Self-harm: ideation, intent and methods.
    SelfHarm,
    /// Suicide: ideation, intent and methods.
    Suicide,
    /// Violence and threats of violence.
    Violence,
    /// Weapons: buying, making, carrying.
    Weapons,
    /// Gambling sites and terms.
    Gambling,
    /// Mental-health distress.
    MentalHealth,
}

/// Every category, in the order reports list them (illegal categories first).
const ALL: [Category; 15] = [
    Category::ChildSexualAbuse,
    Category::Terrorism,
    Category::Bullying,
    Category::Grooming,
    Category::Discrimination,
    Category::HateSpeech,
    Category::Drugs,
    Category::Extremism,
    Category::Pornography,
    Category::SelfHarm,
    Category::Suicide,
    Category::Violence,
    Category::Weapons,
    Category::Gambling,
    Category::MentalHealth,
];

impl Category {
    /// Every category, illegal ones first, in a fixed order.
    pub fn all() -> &'static [Category] {
        &ALL
    }

    /// The stable kebab-case id, e.g. `"self-harm"`.
    pub fn id(self) -> &'static str {
        match self {
            Category::ChildSexualAbuse => "child-sexual-abuse",
            Category::Terrorism => "terrorism",
            Category::Bullying => "bullying",
            Category::Grooming => "grooming",
            Category::Discrimination => "discrimination",
            Category::HateSpeech => "hate-speech",
            Category::Drugs => "drugs",
            Category::Extremism => "extremism",
            Category::Pornography => "pornography",
            Category::SelfHarm => "self-harm",
            Category::Suicide => "suicide",
            Category::Violence => "violence",
            Category::Weapons => "weapons",
            Category::Gambling => "gambling",
            Category::MentalHealth => "mental-health",
        }
    }

    /// The name shown to safeguarding staff, e.g. `"Child sexual exploitation / grooming"`.
    pub fn name(self) -> &'static str {
        match self {
            Category::ChildSexualAbuse => "Child sexual abuse",
            Category::Terrorism => "Terrorism",
            Category::Bullying => "Bullying",
            Category::Grooming => "Child sexual exploitation / grooming",
            Category::Discrimination => "Discrimination",
            Category::HateSpeech => "Hate speech",
            Category::Drugs => "Drugs / substance abuse",
            Category::Extremism => "Extremism / radicalisation",
            Category::Pornography => "Pornography",
            Category::SelfHarm => "Self-harm",
            Category::Suicide => "Suicide",
            Category::Violence => "Violence",
            Category::Weapons => "Weapons",
            Category::Gambling => "Gambling",
            Category::MentalHealth => "Mental health",
        }
    }

    /// True for categories whose content is illegal in the UK (child sexual abuse, terrorism).
    pub fn is_illegal(self) -> bool {
        matches!(self, Category::ChildSexualAbuse | Category::Terrorism)
    }

    /// The category with this id, or `None` when the id is unknown.
    pub fn from_id(id: &str) -> Option<Category> {
        ALL.iter().copied().find(|c| c.id() == id)
    }

    /// All ids joined with `, `, for error messages that list the choices.
    pub fn id_list() -> String {
        ALL.iter().map(|c| c.id()).collect::<Vec<_>>().join(", ")
    }
}

impl fmt::Display for Category {
    /// Writes the id (use [`Category::name`] for the human name).
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.id())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fifteen_unique_categories_round_trip_through_their_ids() {
        assert_eq!(Category::all().len(), 15);
        for (i, c) in Category::all().iter().enumerate() {
            assert_eq!(Category::from_id(c.id()), Some(*c));
            for other in &Category::all()[i + 1..] {
                assert_ne!(c.id(), other.id());
                assert_ne!(c.name(), other.name());
            }
        }
        assert_eq!(Category::from_id("selfharm"), None);
    }

    #[test]
    fn serde_uses_the_kebab_case_ids() {
        for c in Category::all() {
            let json = serde_json::to_string(c).unwrap();
            assert_eq!(json, format!("\"{}\"", c.id()));
            let back: Category = serde_json::from_str(&json).unwrap();
            assert_eq!(back, *c);
        }
    }

    #[test]
    fn only_csa_and_terrorism_are_illegal() {
        let illegal: Vec<_> = Category::all().iter().filter(|c| c.is_illegal()).collect();
        assert_eq!(
            illegal,
            vec![&Category::ChildSexualAbuse, &Category::Terrorism]
        );
        assert_eq!(
            Category::Grooming.name(),
            "Child sexual exploitation / grooming"
        );
        assert_eq!(Category::ChildSexualAbuse.name(), "Child sexual abuse");
        assert_eq!(Category::HateSpeech.to_string(), "hate-speech");
    }
}
