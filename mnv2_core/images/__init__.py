"""Images, in the order they flow: what the bytes are (sniff) -> upright RGB (decode) -> what the model sees (views);
the Oxford-102 folders (flowers); training views in memory (augment) and phone-like photos with the phone proxy (phone)."""
