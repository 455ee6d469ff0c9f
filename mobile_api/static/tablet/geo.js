// Where the tablet is (the browser's geolocation: WGS-84) and how far that is from a place.
// The server's verdict is the one that counts; this one lets the app ask for the reason of an
// outside check-in while offline, with the same rule (gis/geofence.py).

const EARTH_RADIUS_M = 6371008.8; // mean radius, as gis/distance.py
const MAX_ACCURACY_M = 500;

/** The current position: {lon, lat, accuracy_m}; rejects with the browser's error. */
export function currentPosition({ timeout = 20000 } = {}) {
  return new Promise((resolve, reject) => {
    if (!('geolocation' in navigator)) {
      reject(new Error('geolocation unavailable'));
      return;
    }
    navigator.geolocation.getCurrentPosition(
      (position) => resolve({
        lon: position.coords.longitude,
        lat: position.coords.latitude,
        accuracy_m: position.coords.accuracy,
      }),
      (error) => reject(Object.assign(new Error(error.message || 'position unavailable'), {
        denied: error.code === error.PERMISSION_DENIED,
      })),
      { enableHighAccuracy: true, timeout, maximumAge: 0 },
    );
  });
}

/** Great-circle distance in metres between two WGS-84 points. */
export function distanceM(lon1, lat1, lon2, lat2) {
  const rad = Math.PI / 180;
  const dLat = (lat2 - lat1) * rad;
  const dLon = (lon2 - lon1) * rad;
  const a = Math.sin(dLat / 2) ** 2
    + Math.cos(lat1 * rad) * Math.cos(lat2 * rad) * Math.sin(dLon / 2) ** 2;
  return 2 * EARTH_RADIUS_M * Math.asin(Math.min(1, Math.sqrt(a)));
}

/** inside | outside | uncertain | no_location, and the distance, as gis.geofence decides. */
export function fence(position, target, radiusM) {
  if (!target || target.lon == null || target.lat == null) {
    return { verdict: 'no_location', distance_m: null, radius_m: radiusM };
  }
  const distance = distanceM(position.lon, position.lat, target.lon, target.lat);
  const accuracy = position.accuracy_m;
  let verdict = 'uncertain';
  if (Number.isFinite(accuracy) && accuracy <= MAX_ACCURACY_M) {
    if (distance + accuracy <= radiusM) verdict = 'inside';
    else if (distance - accuracy > radiusM) verdict = 'outside';
  }
  return { verdict, distance_m: distance, radius_m: radiusM };
}
