"""Customer stories (issue 11): every story with its review (``library``), the one gate before
a story is shared (``sharing.shared``), and what it illustrates: practices and care
(``links``)."""

from brightspots.stories.library import all_stories, story_frame
from brightspots.stories.links import caregiver, practice_links
from brightspots.stories.sharing import StoryConfigError, shared

__all__ = [
    "StoryConfigError",
    "all_stories",
    "caregiver",
    "practice_links",
    "shared",
    "story_frame",
]
