"""AvatarLab: a portrait and a script in, a talking-head video out, fast on a plain CPU."""
