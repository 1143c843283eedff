"""Edit a photo in ten lines:  /usr/bin/python3 examples/python/edit_photo.py me.jpg smile=+1 me_smiling.jpg
(PYTHONPATH=build/python from the build tree; edits as `faceedit photo --edit` takes them)."""
import sys

import faceedit

photo, edit, output = sys.argv[1:4]
g = faceedit.open_generator("dcgan-celeba32")
session = faceedit.PhotoSession(g)                       # settings: crop=, inversion_steps=, cache=, ...
session.prepare(photo, edits=edit, progress=lambda r: print(r.get("stage") or r.get("log")))
faceedit.write_image(output, session.render(edit).photo)
