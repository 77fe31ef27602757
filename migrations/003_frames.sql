-- Frames: every image Titrate can show, library ("pantry") and fresh alike. Files are stored
-- content-addressed under DATA_DIR; the id is derived from the content's SHA-256.
CREATE TABLE frames (
  id            text PRIMARY KEY CHECK (id ~ '^[a-z0-9_-]{8,128}$'),
  source        text NOT NULL CHECK (source IN ('library', 'fresh')),
  genre         text NOT NULL CHECK (length(genre) BETWEEN 1 AND 64),
  mood          text NOT NULL CHECK (length(mood) BETWEEN 1 AND 64),
  style         text NOT NULL CHECK (length(style) BETWEEN 1 AND 64),
  orientation   text NOT NULL CHECK (orientation IN ('landscape', 'portrait', 'square')),
  energy        real CHECK (energy IS NULL OR (energy >= 0 AND energy <= 1)),
  width         integer NOT NULL CHECK (width > 0),
  height        integer NOT NULL CHECK (height > 0),
  content_type  text NOT NULL CHECK (content_type IN ('image/webp', 'image/jpeg', 'image/png')),
  bytes         integer NOT NULL CHECK (bytes > 0),
  sha256        text NOT NULL CHECK (length(sha256) = 64),
  -- Path of the file relative to DATA_DIR.
  path          text NOT NULL,
  prompt        text,
  created_at    timestamptz NOT NULL DEFAULT now()
);

CREATE INDEX frames_bucket ON frames (genre, mood, orientation) WHERE source = 'library';
