-- Base layers (底图): roads, rivers, landmarks and areas an operator imports as GeoJSON
-- (`gongzhi map import`), drawn under the grid. The box columns let a map load only what its
-- window shows.
CREATE TABLE map_layers (
    id          BLOB PRIMARY KEY,
    district    TEXT NOT NULL REFERENCES districts(code),
    kind        TEXT NOT NULL CHECK (kind IN ('road', 'river', 'landmark', 'area')),
    class       TEXT NOT NULL,           -- how it is drawn: road, river, landmark, green, water
    name        TEXT NOT NULL,
    geometry    TEXT NOT NULL,           -- GeoJSON geometry, [lng, lat]
    min_lat     DOUBLE PRECISION NOT NULL,
    min_lng     DOUBLE PRECISION NOT NULL,
    max_lat     DOUBLE PRECISION NOT NULL,
    max_lng     DOUBLE PRECISION NOT NULL,
    created_at  BIGINT NOT NULL
);
CREATE INDEX map_layers_window ON map_layers(district, min_lng, max_lng);
