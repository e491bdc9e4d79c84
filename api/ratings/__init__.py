"""好差评: service ratings (一事一评 online, 一次一评 at a window) and the bad-rating rectification loop."""
