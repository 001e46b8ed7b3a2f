"""Images, in the order they flow: bytes -> upright RGB (decode) -> what the model sees (views); the Oxford-102
folders (flowers); training views (augment) and phone-like photos with the phone proxy (phone)."""
