// Entry point the camera service loads dynamically (src/camera/driverLoader.ts): only the driver class.
export { V4l2Driver } from './v4l2Driver.js';
